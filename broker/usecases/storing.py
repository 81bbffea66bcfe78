"""Storing verified submissions: the registry rules, the idempotency rule, and the store in one transaction.

Every writer goes through ``store_submissions``, so a submission gets the same answer whether it was stored
alone (``StoreEach``) or in a group commit's batch: a byte-identical repeat answers the stored message, other
content under a used (sender, message id) is a conflict.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.domain.errors import Error, Refusal
from broker.domain.lifecycle import MessageStatus
from broker.domain.messages import HistoryEntry, StoredMessage
from broker.domain.participants import Participant
from broker.domain.property_units import StoredUnits
from broker.routing.transport import message_routing_key, routing_headers
from broker.store.outbox_kind import OutboxKind
from broker.store.outbox_repository import ClaimedRow, OutboxEntry
from broker.store.registry_cache import RegistryCache
from broker.store.registry_version import RegistryMoved
from broker.store.status_moves import receipt_row
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.message_views import MessageView, load_view
from broker.usecases.submissions import Outcome, Submission, SubmitResult, VerifiedSubmission, stored_units
from broker.xml.catalogue import MessageTypeSpec


@dataclass(frozen=True, slots=True)
class AfterCommit:
    """Who is told after a commit that stored new messages: the relay (publish now) and the console's index."""

    outbox_written: Callable[[], None]
    messages_stored: Callable[[Sequence[StoredUnits]], None]


@dataclass(frozen=True, slots=True)
class StoredBatch:
    """One outcome per submission, in order, and the outbox rows written leased to the caller's relay."""

    outcomes: list[Outcome]
    leased: list[ClaimedRow]


@lru_cache(maxsize=256)
def _fingerprint(certificate_pem: str) -> str | None:
    """Cached: the registered certificates are few and parsing one costs more than the whole lookup."""
    try:
        return x509.load_pem_x509_certificate(certificate_pem.encode("ascii")).fingerprint(hashes.SHA256()).hex()
    except ValueError:
        return None


def _check_party(participant: Participant | None, orgnr: str, spec: MessageTypeSpec, *, sending: bool) -> Participant:
    party = "sender" if sending else "recipient"
    if participant is None:
        raise Refusal(Error.UNKNOWN_PARTICIPANT, f"the {party} {orgnr} is not registered")
    if not participant.active:
        raise Refusal(Error.PARTICIPANT_INACTIVE, f"the {party} {orgnr} is not active")
    roles = spec.sender_roles if sending else spec.recipient_roles
    if participant.role.value not in {str(role) for role in roles}:
        verb = "send" if sending else "receive"
        raise Refusal(Error.WRONG_ROLE, f"a {participant.role.value} may not {verb} {spec.name}")
    capable = participant.can_send(spec.name) if sending else participant.can_receive(spec.name)
    if not capable:
        verb = "send" if sending else "receive"
        raise Refusal(Error.NOT_CAPABLE, f"the {party} {orgnr} cannot {verb} {spec.name}")
    return participant


def check_parties(submission: VerifiedSubmission, sender: Participant | None, recipient: Participant | None) -> None:
    """The registry rules: both parties registered, active, of the right roles and capable; the document
    signed with the sender's registered certificate. Refuses on the first rule broken."""
    routing, spec = submission.routing, submission.spec
    sender = _check_party(sender, routing.sender, spec, sending=True)
    if _fingerprint(sender.certificate_pem) != submission.signer_fingerprint:
        raise Refusal(Error.SIGNER_MISMATCH, "the document is not signed with the sender's registered certificate")
    _check_party(recipient, routing.recipient, spec, sending=False)


def _repeat_or_conflict(existing: StoredMessage, sha256: str) -> None:
    if existing.sha256 != sha256:
        raise Refusal(
            Error.DUPLICATE_MESSAGE_ID,
            f"message id {existing.message_id} was already used by this sender for other content",
        )


async def _stored_before(uow: UnitOfWork, existing: StoredMessage, sha256: str) -> Outcome:
    """The answer to a document whose (sender, message id) is already stored: that message, or a conflict."""
    try:
        _repeat_or_conflict(existing, sha256)
    except Refusal as refusal:
        return refusal
    return SubmitResult(await load_view(uow, existing), created=False)


def _new_message(checked: VerifiedSubmission, now: datetime, ttl_s: int) -> StoredMessage:
    routing = checked.routing
    return StoredMessage(
        id=str(uuid.uuid4()),
        message_type=routing.message_type,
        message_id=routing.message_id,
        sender=routing.sender,
        recipient=routing.recipient,
        sender_reference=routing.sender_reference,
        recipient_reference=routing.recipient_reference,
        document_created=routing.created,
        signer_subject=checked.signer_subject,
        size=len(checked.data),
        sha256=checked.sha256,
        content=checked.data,
        status=MessageStatus.ACCEPTED,
        accepted_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
        status_changed_at=now,
    )


def _outbox_entries(stored: StoredMessage) -> tuple[OutboxEntry, OutboxEntry]:
    """The message's publish and the sender's ``accepted`` receipt, in that order."""
    routing_key = message_routing_key(stored.recipient, stored.message_type)
    headers = routing_headers(
        stored.message_type, stored.sender, stored.recipient, stored.sender_reference, stored.recipient_reference
    )
    receipt = receipt_row(stored.id, stored.sender, MessageStatus.ACCEPTED, stored.accepted_at)
    return OutboxEntry(OutboxKind.MESSAGE, stored.id, routing_key, headers), receipt


async def store_submissions(
    uow: UnitOfWork,
    submissions: Sequence[Submission],
    ttl_s: int,
    *,
    lease_until: datetime | None = None,
    leased_by: str | None = None,
    registry: RegistryCache | None = None,
) -> StoredBatch:
    """Apply the registry rules and the idempotency rule to each submission and store the new ones, all in
    the unit of work's transaction; the caller commits next, with nothing written between (on SQLite the
    store's own trip commits when every message was new, and the caller's commit then costs nothing). One
    outcome per submission, in order. With
    ``lease_until`` the store writes the outbox rows leased to the caller's relay and returns them, for the
    relay to publish from memory (``MessageRepository.add_new``).

    The rules are those of one message at a time, applied in arrival order: a byte-identical repeat of a
    stored message, or of one earlier in the same batch, answers that message (200); other content under
    a used (sender, message id) is a conflict (409). An ``IntegrityError`` (a concurrent process stored the
    same id after the lookup) propagates: the caller retries one by one (``StoreEach``).

    The store skips ids already stored and reports them, so the stored messages are looked up only for the
    submissions it skipped: on PostgreSQL, one round trip fewer for a batch of new ones.
    With ``registry`` the parties are looked up there (cached while PostgreSQL notifies registry changes;
    on SQLite while the registry's change counter stands still, which the store confirms under its write
    lock). ``RegistryMoved``: it moved; nothing is stored, and the caller rolls back and stores again.
    """
    parties = {o for s in submissions for o in (s.verified.routing.sender, s.verified.routing.recipient)}
    confirm: int | None = None
    if registry is not None:
        # The counter the cached answers stand for, taken before they are used: the store confirms it.
        confirm = registry.store_version()
        found = await registry.get_many(uow.participants, parties, after_caller_check=True)
    else:
        found = await uow.participants.get_many(parties)
    registered = {orgnr: found.get(orgnr) for orgnr in parties}
    outcomes: list[Outcome | None] = [None] * len(submissions)
    checked: dict[int, VerifiedSubmission] = {}
    for index, submission in enumerate(submissions):
        routing = submission.verified.routing
        try:
            check_parties(submission.verified, registered[routing.sender], registered[routing.recipient])
            checked[index] = submission.verified
        except Refusal as refusal:
            outcomes[index] = refusal
    keys = {index: (c.routing.sender, c.routing.message_id) for index, c in checked.items()}
    fresh: dict[tuple[str, str], int] = {}  # (sender, message id) → index of its first submission in the batch
    repeats: dict[int, int] = {}
    new: list[tuple[int, StoredMessage]] = []
    for index, message in checked.items():
        key = keys[index]
        if key in fresh:
            first = fresh[key]
            if checked[first].sha256 != message.sha256:
                outcomes[index] = Refusal(
                    Error.DUPLICATE_MESSAGE_ID,
                    f"message id {message.routing.message_id} was already used by this sender for other content",
                )
            else:
                repeats[index] = first
        else:
            fresh[key] = index
            new.append((index, _new_message(message, submissions[index].accepted_at, ttl_s)))
    leased: list[ClaimedRow] = []
    if new:
        fresh_messages = [message for _, message in new]
        entries = [entry for message in fresh_messages for entry in _outbox_entries(message)]
        added = await uow.messages.add_new(
            fresh_messages,
            entries,
            lease_until=lease_until,
            leased_by=leased_by,
            then_commit=True,
            registry_version=confirm,
        )
        leased = added.leased
        inserted = {message.id: message for message in added.stored}
        skipped = [index for index, message in new if message.id not in inserted]
        for index, new_message in new:
            if new_message.id in inserted:
                # The store records the submission as the first history entry (the sender, at acceptance).
                stored_message = inserted[new_message.id]
                history = (HistoryEntry(MessageStatus.ACCEPTED, stored_message.accepted_at, stored_message.sender),)
                outcomes[index] = SubmitResult(MessageView(stored_message, history), created=True)
        if skipped:
            # Stored before this batch after all: every submission in it under that id answers the stored
            # message (repeat or conflict), not the first of the batch.
            stored_keys = {keys[index] for index in skipped}
            existing = await uow.messages.find_many_by_sender_message_ids(sorted(stored_keys))
            for index in checked:
                if keys[index] not in stored_keys:
                    continue
                if keys[index] not in existing:
                    raise RuntimeError(f"message id {keys[index][1]} was skipped as stored but is not found")
                repeats.pop(index, None)
                outcomes[index] = await _stored_before(uow, existing[keys[index]], checked[index].sha256)
    elif confirm is not None and registry is not None and await registry.moved_since(confirm):
        raise RegistryMoved  # every one refused by the cached registry: confirmed by a read of its own
    for index, first in repeats.items():
        earlier = outcomes[first]
        assert earlier is not None
        outcomes[index] = SubmitResult(earlier.view, created=False) if isinstance(earlier, SubmitResult) else earlier
    assert all(outcome is not None for outcome in outcomes)
    return StoredBatch([outcome for outcome in outcomes if outcome is not None], leased)


class StoreEach:
    """The ``SubmissionWriter`` that stores each submission in a transaction of its own: with group commit
    off, and for a group commit's batch that failed (one by one, so one bad submission fails no other)."""

    def __init__(self, engine: AsyncEngine, ttl_s: int, after: AfterCommit) -> None:
        self._engine = engine
        self._ttl_s = ttl_s
        self._after = after

    async def submit(self, submission: Submission) -> Outcome:
        """A concurrent resend that wins the race is answered as a repeat (or a conflict), exactly as if it
        had committed first."""
        async with UnitOfWork(self._engine) as uow:
            try:
                (outcome,) = (await store_submissions(uow, [submission], self._ttl_s)).outcomes
                await uow.commit()
            except IntegrityError:
                await uow.rollback()
                (outcome,) = (await store_submissions(uow, [submission], self._ttl_s)).outcomes
                if isinstance(outcome, SubmitResult) and outcome.created:
                    raise  # still no stored row to answer with: the constraint that failed is another one
                await uow.rollback()
        if isinstance(outcome, SubmitResult) and outcome.created:
            self._after.outbox_written()
            self._after.messages_stored(stored_units([submission], [outcome]))
        return outcome

    async def stop(self) -> None:
        return None
