"""A check worker: a process that runs ``check_document`` for the broker that started it.

Python runs one thread of Python at a time, and the checks of a small document (parse, schema, signatures)
hold that lock for most of their ~0.5 ms: a thread beside the event loop gains nothing, a process does.

The broker writes frames to the worker's standard input and reads frames from its standard output: a
4-byte big-endian length, then a pickle. The first frame holds the broker's settings; the worker loads the
catalogue and the trust stores from them, compiles every schema and answers ``(0, READY, None)``. Each job
``(id, document bytes)`` is answered, in the order the jobs came, with ``(id, CHECKED, checked_wire(...))``,
``(id, REFUSED, (message type, error name, detail, issues))`` or ``(id, FAILED, text)`` for an error the
checks did not expect. The end of its input ends the worker. The pickles only ever cross the pipe between
the broker and the process it started; the document travels inside them as bytes and is parsed here with
the same hardened parser as in the broker.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from broker.config import Settings
from broker.domain.errors import Refusal
from broker.domain.property_units import UnitRef
from broker.domain.routing_fields import RoutingFields
from broker.usecases.document_check import CheckedDocument, CheckTrace, check_document
from broker.xml.catalogue import Catalogue
from broker.xml.inner_signatures import SignedDocuments
from broker.xml.trust import SignerIdentity, TrustStore
from broker.xml.verification import SignatureVerifier

HEADER = struct.Struct(">I")
READY, CHECKED, REFUSED, FAILED = "ready", "checked", "refused", "failed"


# A checked document crosses the pipe as plain tuples: unpickling the frozen dataclasses themselves walks
# their fields for every object (``dataclasses.fields`` in ``__setstate__``), 9 µs a document on the
# broker's event loop against 4 µs for the tuples and the constructors. Its three times travel as ISO 8601
# text, which keeps their offsets: pickling an aware datetime pickles its time zone through ``copyreg``, and
# with them an answer took 12.6 µs to pickle in the worker and 9.2 µs to unpickle and build on the event
# loop, against 1.4 and 6.9 µs as text (best of five).
CheckedWire = tuple[
    str,
    tuple[str, str, str, str, str, str | None, str | None],
    tuple[str, str, str, str, str | None, str | None, str],
    tuple[tuple[str, int, int], ...],
]


def checked_wire(document: CheckedDocument) -> CheckedWire:
    r, s = document.routing, document.signer
    return (
        document.message_type,
        (
            r.message_type,
            r.message_id,
            r.sender,
            r.recipient,
            r.sender_reference,
            r.recipient_reference,
            None if r.created is None else r.created.isoformat(),
        ),
        (
            s.subject,
            s.fingerprint,
            s.not_before.isoformat(),
            s.not_after.isoformat(),
            s.orgnr,
            s.fodselsnummer,
            s.common_name,
        ),
        tuple((u.unit, u.festenummer, u.seksjonsnummer) for u in document.units),
    )


def checked_document(wire: CheckedWire) -> CheckedDocument:
    message_type, (kind, message_id, sender, recipient, sender_ref, recipient_ref, created), signer, units = wire
    subject, fingerprint, not_before, not_after, orgnr, fodselsnummer, common_name = signer
    return CheckedDocument(
        message_type,
        RoutingFields(
            kind,
            message_id,
            sender,
            recipient,
            sender_ref,
            recipient_ref,
            None if created is None else datetime.fromisoformat(created),
        ),
        SignerIdentity(
            subject,
            fingerprint,
            datetime.fromisoformat(not_before),
            datetime.fromisoformat(not_after),
            orgnr,
            fodselsnummer,
            common_name,
        ),
        tuple(UnitRef(*unit) for unit in units),
    )


def frame(value: object) -> bytes:
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    data = stream.read(size)
    return data if data is not None and len(data) == size else None


def _read_frame(stream: IO[bytes]) -> Any:
    header = _read_exactly(stream, HEADER.size)
    if header is None:
        return None
    body = _read_exactly(stream, HEADER.unpack(header)[0])
    return None if body is None else pickle.loads(body)  # noqa: S301 - written by the broker that started this


@dataclass(frozen=True, slots=True)
class WorkerCheckers:
    """The worker's own catalogue and verifiers, loaded from the settings the broker loaded its own from."""

    settings: Settings
    catalogue: Catalogue
    verifier: SignatureVerifier
    signed_documents: SignedDocuments | None
    inner_verifier: SignatureVerifier | None

    @classmethod
    def load(cls, settings: Settings) -> WorkerCheckers:
        catalogue = Catalogue.load(settings.xsd_dir)
        catalogue.compile_all()
        return cls(
            settings=settings,
            catalogue=catalogue,
            verifier=SignatureVerifier(TrustStore.from_pem_files(settings.effective_trust_ca_files)),
            signed_documents=SignedDocuments.load(settings.xsd_dir),
            inner_verifier=SignatureVerifier(TrustStore.from_pem_files(settings.effective_personal_trust_ca_files)),
        )


def answer(checkers: WorkerCheckers, data: bytes) -> tuple[str, object]:
    trace = CheckTrace()
    try:
        return CHECKED, checked_wire(check_document(checkers, data, trace))
    except Refusal as refusal:
        return REFUSED, (trace.message_type, refusal.error.name, refusal.detail, refusal.issues)
    except Exception as exc:  # the broker answers this job itself; the worker goes on with the next
        return FAILED, f"{type(exc).__name__}: {exc}"


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C stops the broker, which ends its workers
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print must never land in the channel
    jobs = sys.stdin.buffer
    settings = _read_frame(jobs)
    if not isinstance(settings, Settings):
        return 2
    checkers = WorkerCheckers.load(settings)
    channel.write(frame((0, READY, None)))
    channel.flush()
    while (job := _read_frame(jobs)) is not None:
        job_id, data = job
        channel.write(frame((job_id, *answer(checkers, data))))
        channel.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
