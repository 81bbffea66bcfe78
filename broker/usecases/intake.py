"""The submit use case: size limit → hardened parse → XSD and identifier rules → signature and signer →
routing rules → store the message, its history and its outbox rows in one transaction.

Every routing field is read from the verifier's signed result, never from the raw input, so what the
broker routes on is exactly what the sender signed. The checks (``check_message``) are shared with the
validate-only use case; only ``submit_message`` stores.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from sqlalchemy.exc import IntegrityError

from broker.domain.errors import Error, Refusal
from broker.domain.lifecycle import MessageStatus
from broker.domain.messages import HistoryEntry, StoredMessage
from broker.domain.participants import Participant
from broker.domain.property_units import StoredUnits, UnitRef
from broker.domain.routing_fields import RoutingFields
from broker.routing.transport import message_routing_key, routing_headers
from broker.store.outbox_kind import OutboxKind
from broker.store.outbox_repository import ClaimedRow, OutboxEntry
from broker.store.registry_cache import RegistryCache
from broker.store.status_moves import receipt_row
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.message_views import MessageView, load_view
from broker.usecases.services import Services
from broker.xml.catalogue import MessageTypeSpec
from broker.xml.parsing import parse_xml
from broker.xml.property_units import units_in_tree
from broker.xml.validation import validate_tree
from broker.xml.verification import VerifiedDocument, require_signer_orgnr

# Above this size parsing, schema validation and signature checks run in a worker thread, so one large
# document does not stall every other request on the event loop (lxml releases the GIL while it works).
# Measured: the checks cost about 0.1 ms per KiB of element-dense XML (0.3 ms at 4 KiB, 9 ms at 110 KiB,
# 54 ms at 440 KiB); at 64 KiB a document would hold the loop ~5 ms, while a thread hop costs ~0.1 ms.
THREAD_THRESHOLD_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class CheckedMessage:
    """A document that passed every check, with what storing it needs."""

    data: bytes
    sha256: str
    spec: MessageTypeSpec
    routing: RoutingFields
    signer_subject: str


@dataclass(slots=True)
class CheckTrace:
    """How far a check got: the message type once the schema stage named it (for validate-only reports)."""

    message_type: str | None = None


def _verify_document(
    services: Services, data: bytes, trace: CheckTrace
) -> tuple[MessageTypeSpec, RoutingFields, VerifiedDocument, tuple[UnitRef, ...]]:
    """The CPU-bound part of the pipeline: parse, validate, verify; the routing fields of the signed tree."""
    tree = parse_xml(data, services.settings.limits)
    report = validate_tree(tree, services.catalogue, data)
    trace.message_type = report.message_type
    if not report.ok:
        error = report.error or Error.SCHEMA_INVALID
        what = report.message_type or "document"
        raise Refusal(error, f"{len(report.issues)} problem(s) in the {what}", list(report.issues))
    verified = services.verifier.verify_enveloped(tree, owned=True)  # parsed here, used by nobody else
    if services.signed_documents is not None and services.inner_verifier is not None:
        services.signed_documents.check(verified.root, services.inner_verifier)
    spec = services.catalogue.spec_for_root(verified.root)
    if spec is None:  # the signed content has another root than the validated one: never route on it
        raise Refusal(Error.SIGNATURE_INVALID, "the signed content is not the validated message")
    # The property units are read from the signed tree now, while it is parsed, for the console's index.
    return spec, spec.routing_fields(verified.root), verified, units_in_tree(verified.root)


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


async def verify_submission(
    services: Services, caller: str, data: bytes, trace: CheckTrace | None = None
) -> VerifiedSubmission:
    """The checks before the registry: size, parse, schema and rules, signature, sender = caller = signer."""
    trace = trace if trace is not None else CheckTrace()
    if len(data) > services.settings.limits.max_bytes:
        raise Refusal(Error.TOO_LARGE, f"the body exceeds the limit of {services.settings.limits.max_bytes} bytes")
    if len(data) > THREAD_THRESHOLD_BYTES:
        spec, routing, verified, units = await asyncio.to_thread(_verify_document, services, data, trace)
    else:
        spec, routing, verified, units = _verify_document(services, data, trace)
    if routing.sender != caller:
        raise Refusal(Error.SENDER_NOT_CALLER, f"the document's sender {routing.sender} is not the caller {caller}")
    require_signer_orgnr(verified, routing.sender)
    return VerifiedSubmission(
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        spec=spec,
        routing=routing,
        signer_subject=verified.signer.subject,
        signer_fingerprint=verified.signer.fingerprint,
        units=units,
    )


def check_parties(
    submission: VerifiedSubmission, sender: Participant | None, recipient: Participant | None
) -> CheckedMessage:
    """The registry rules: both parties registered, active, of the right roles and capable; the document
    signed with the sender's registered certificate."""
    routing, spec = submission.routing, submission.spec
    sender = _check_party(sender, routing.sender, spec, sending=True)
    if _fingerprint(sender.certificate_pem) != submission.signer_fingerprint:
        raise Refusal(Error.SIGNER_MISMATCH, "the document is not signed with the sender's registered certificate")
    _check_party(recipient, routing.recipient, spec, sending=False)
    return CheckedMessage(
        data=submission.data,
        sha256=submission.sha256,
        spec=spec,
        routing=routing,
        signer_subject=submission.signer_subject,
    )


async def check_message(
    services: Services, caller: str, data: bytes, trace: CheckTrace | None = None
) -> CheckedMessage:
    """Every check of the pipeline, in order; the first failing stage refuses with all it found."""
    submission = await verify_submission(services, caller, data, trace)
    async with UnitOfWork(services.engine) as uow:
        sender = await uow.participants.get(submission.routing.sender)
        recipient = await uow.participants.get(submission.routing.recipient)
    return check_parties(submission, sender, recipient)


@dataclass(frozen=True, slots=True)
class SubmitResult:
    view: MessageView
    created: bool  # False: the same document was submitted before, and this is the stored message


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


@dataclass(frozen=True, slots=True)
class Submission:
    """One verified document waiting to be stored, with the time it was accepted."""

    verified: VerifiedSubmission
    accepted_at: datetime


Outcome = SubmitResult | Refusal


def _new_message(checked: CheckedMessage, now: datetime, ttl_s: int) -> StoredMessage:
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
    leased: list[ClaimedRow] | None = None,
    registry: RegistryCache | None = None,
) -> list[Outcome]:
    """Apply the registry rules and the idempotency rule to each submission and store the new ones, all in
    the unit of work's transaction; the caller commits. One outcome per submission, in order. With
    ``lease_until`` and ``leased`` (PostgreSQL), the outbox rows are written leased to the caller's relay
    and collected in ``leased`` for it (``MessageRepository.add_many``).

    The rules are those of one message at a time, applied in arrival order: a byte-identical repeat of a
    stored message, or of one earlier in the same batch, answers that message (200); other content under
    a used (sender, message id) is a conflict (409). An ``IntegrityError`` (a concurrent process stored the
    same id after the lookup) propagates: the caller retries one by one (``submit_alone``).

    On PostgreSQL the insert itself skips ids already stored (``ON CONFLICT DO NOTHING``), so the stored
    messages are looked up only for the submissions it skipped: one round trip fewer for a batch of new ones.
    With ``registry`` the parties are looked up there (cached while PostgreSQL notifies registry changes).
    """
    parties = {o for s in submissions for o in (s.verified.routing.sender, s.verified.routing.recipient)}
    if registry is not None:
        found = await registry.get_many(uow.participants, parties)
    else:
        found = await uow.participants.get_many(parties)
    registered = {orgnr: found.get(orgnr) for orgnr in parties}
    outcomes: list[Outcome | None] = [None] * len(submissions)
    checked: dict[int, CheckedMessage] = {}
    for index, submission in enumerate(submissions):
        routing = submission.verified.routing
        try:
            sender, recipient = registered[routing.sender], registered[routing.recipient]
            checked[index] = check_parties(submission.verified, sender, recipient)
        except Refusal as refusal:
            outcomes[index] = refusal
    keys = {index: (c.routing.sender, c.routing.message_id) for index, c in checked.items()}
    existing: dict[tuple[str, str], StoredMessage] = {}
    if not uow.messages.skips_stored_ids:
        existing = await uow.messages.find_many_by_sender_message_ids(list(keys.values()))
    fresh: dict[tuple[str, str], int] = {}  # (sender, message id) → index of its first submission in the batch
    repeats: dict[int, int] = {}
    new: list[tuple[int, StoredMessage]] = []
    for index, message in checked.items():
        key = keys[index]
        if key in existing:
            outcomes[index] = await _stored_before(uow, existing[key], message.sha256)
        elif key in fresh:
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
    if new:
        fresh_messages = [message for _, message in new]
        entries = [entry for message in fresh_messages for entry in _outbox_entries(message)]
        stored = await uow.messages.add_many(
            fresh_messages, outbox=entries, lease_until=lease_until, leased_by=leased_by, leased=leased
        )
        inserted = {message.id: message for message in stored}
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
    for index, first in repeats.items():
        earlier = outcomes[first]
        assert earlier is not None
        outcomes[index] = SubmitResult(earlier.view, created=False) if isinstance(earlier, SubmitResult) else earlier
    assert all(outcome is not None for outcome in outcomes)
    return [outcome for outcome in outcomes if outcome is not None]


def stored_units(submissions: Sequence[Submission], outcomes: Sequence[Outcome]) -> list[StoredUnits]:
    """What the console's index needs of the messages a commit created: id, seq and the units they name."""
    return [
        StoredUnits(outcome.view.message.id, outcome.view.message.seq or 0, submission.verified.units)
        for submission, outcome in zip(submissions, outcomes, strict=True)
        if isinstance(outcome, SubmitResult) and outcome.created
    ]


async def submit_alone(services: Services, submission: Submission) -> Outcome:
    """Store one submission in a transaction of its own; a concurrent resend that wins the race is answered
    as a repeat (or a conflict), exactly as if it had committed first."""
    async with UnitOfWork(services.engine) as uow:
        try:
            (outcome,) = await store_submissions(uow, [submission], services.settings.message_ttl_s)
            await uow.commit()
        except IntegrityError:
            await uow.rollback()
            (outcome,) = await store_submissions(uow, [submission], services.settings.message_ttl_s)
            if isinstance(outcome, SubmitResult) and outcome.created:
                raise  # still no stored row to answer with: the constraint that failed is another one
            await uow.rollback()
    if isinstance(outcome, SubmitResult) and outcome.created:
        services.outbox_written()
        services.messages_stored(stored_units([submission], [outcome]))
    return outcome


async def submit_message(services: Services, caller: str, data: bytes) -> SubmitResult:
    """Check and store one message; a byte-identical repeat answers the message stored the first time.

    Storing goes through the group commit when the broker runs one (submissions that arrive together share
    one transaction), else through a transaction of its own; the rules and answers are the same.
    """
    verified = await verify_submission(services, caller, data)
    submission = Submission(verified, services.clock())
    writer = services.group_commit
    outcome = await (writer.submit(submission) if writer is not None else submit_alone(services, submission))
    if isinstance(outcome, Refusal):
        raise outcome
    return outcome
