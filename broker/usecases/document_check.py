"""The CPU-bound part of a submission's checks: hardened parse, schema and rules, signatures, routing fields.

It needs nothing of the running broker but the catalogue, the verifiers and the limits, and what it answers
is small and plain (``CheckedDocument``), so the same function runs inline on the event loop, in a worker
thread for a large document, or in a check worker process (``check_workers.py``) when the loop is busy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from broker.domain.errors import Error, Refusal
from broker.domain.property_units import UnitRef
from broker.domain.routing_fields import RoutingFields
from broker.xml.parsing import parse_xml
from broker.xml.property_units import units_in_tree
from broker.xml.trust import SignerIdentity
from broker.xml.validation import validate_tree

if TYPE_CHECKING:
    from broker.config import Settings
    from broker.xml.catalogue import Catalogue
    from broker.xml.inner_signatures import SignedDocuments
    from broker.xml.verification import SignatureVerifier


@dataclass(slots=True)
class CheckTrace:
    """How far a check got: the message type once the schema stage named it (for validate-only reports)."""

    message_type: str | None = None


@dataclass(frozen=True, slots=True)
class CheckedDocument:
    """What the checks found in a document that passed them: its type, what it routes on (read from the
    signed tree), who signed it, and the property units it names."""

    message_type: str
    routing: RoutingFields
    signer: SignerIdentity
    units: tuple[UnitRef, ...]


class DocumentCheckers(Protocol):
    """What the checks use: ``Services`` in the broker, its own set in a check worker process."""

    @property
    def settings(self) -> Settings: ...

    @property
    def catalogue(self) -> Catalogue: ...

    @property
    def verifier(self) -> SignatureVerifier: ...

    @property
    def signed_documents(self) -> SignedDocuments | None: ...

    @property
    def inner_verifier(self) -> SignatureVerifier | None: ...


def check_document(checkers: DocumentCheckers, data: bytes, trace: CheckTrace) -> CheckedDocument:
    """Parse, validate, verify; the routing fields and property units of the signed tree."""
    tree = parse_xml(data, checkers.settings.limits)
    report = validate_tree(tree, checkers.catalogue, data)
    trace.message_type = report.message_type
    if not report.ok:
        error = report.error or Error.SCHEMA_INVALID
        what = report.message_type or "document"
        raise Refusal(error, f"{len(report.issues)} problem(s) in the {what}", list(report.issues))
    verified = checkers.verifier.verify_enveloped(tree, owned=True)  # parsed here, used by nobody else
    if checkers.signed_documents is not None and checkers.inner_verifier is not None:
        checkers.signed_documents.check(verified.root, checkers.inner_verifier)
    spec = checkers.catalogue.spec_for_root(verified.root)
    if spec is None:  # the signed content has another root than the validated one: never route on it
        raise Refusal(Error.SIGNATURE_INVALID, "the signed content is not the validated message")
    # The property units are read from the signed tree now, while it is parsed, for the console's index.
    return CheckedDocument(spec.name, spec.routing_fields(verified.root), verified.signer, units_in_tree(verified.root))
