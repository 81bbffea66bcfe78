"""A submission on its way in: the records the checks hand to the store, the answers, and the writer seam.

``SubmissionWriter`` is how a verified document gets stored: one transaction each (``StoreEach``) or one
for everything that arrives together (``GroupCommit``); the app factory chooses one, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from broker.domain.errors import Refusal
from broker.domain.property_units import StoredUnits, UnitRef
from broker.domain.routing_fields import RoutingFields
from broker.usecases.message_views import MessageView
from broker.xml.catalogue import MessageTypeSpec


@dataclass(frozen=True, slots=True)
class VerifiedSubmission:
    """A document past every check that needs no store: schema, rules, signature, signer = sender = caller."""

    data: bytes
    sha256: str
    spec: MessageTypeSpec
    routing: RoutingFields
    signer_subject: str
    signer_fingerprint: str
    units: tuple[UnitRef, ...] = ()  # the property units the document names


@dataclass(frozen=True, slots=True)
class Submission:
    """One verified document waiting to be stored, with the time it was accepted."""

    verified: VerifiedSubmission
    accepted_at: datetime


@dataclass(frozen=True, slots=True)
class SubmitResult:
    view: MessageView
    created: bool  # False: the same document was submitted before, and this is the stored message


Outcome = SubmitResult | Refusal


class SubmissionWriter(Protocol):
    """Stores verified submissions under the registry and idempotency rules; one outcome per submission."""

    async def submit(self, submission: Submission) -> Outcome: ...

    async def stop(self) -> None: ...


def stored_units(submissions: Sequence[Submission], outcomes: Sequence[Outcome]) -> list[StoredUnits]:
    """What the console's index needs of the messages a commit created: id, seq and the units they name."""
    return [
        StoredUnits(outcome.view.message.id, outcome.view.message.seq or 0, submission.verified.units)
        for submission, outcome in zip(submissions, outcomes, strict=True)
        if isinstance(outcome, SubmitResult) and outcome.created
    ]
