"""Status moves and the receipts they owe: the one place a message's status changes.

A move is one conditional UPDATE that only touches rows whose current status may be followed by the new
one (``broker.domain.lifecycle.can_move``), so a late confirm, a second relay or a racing request can never
move a message backwards or repeat a step. Each message moved gets a history row and, unless the caller
has told the sender already, a receipt: an outbox row in the same transaction, so the sender is told of a
change if and only if it committed. Every statement covers all the messages of a call: a lifecycle pass or
a relay settle of hundreds of messages costs a handful of round trips.

The time recorded is never before the message's last change, so the history's times follow its rows even
when a caller took its time before losing a race. The ``published`` step can be overtaken: a recipient
may download a message (from its queue, or polling over HTTP) before the relay records its publish
confirm. The step still happened, first, so it is recorded (and receipted) once, without moving the
status back, dated no later than the step that overtook it; the history is read in time order.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.domain.lifecycle import MessageStatus, can_move, overtaken
from broker.json_text import json_bytes, json_str
from broker.store.outbox_kind import OutboxKind
from broker.store.outbox_repository import OutboxEntry, OutboxRepository
from broker.store.sqlite_publish import settle_published_sqlite
from broker.store.tables import MESSAGES_CLOSED_KEPT, UTC_TIMESTAMP, messages, outbox, status_history

RELAY_ACTOR = "relay"  # the outbox relay: a publish confirmed
BROKER_ACTOR = "broker"  # the broker itself: expiry, purge, a dead letter
MAX_DUE = 1000  # most messages one expiry or purge pass moves

# Derived from the lifecycle, so a new status can never be forgotten here.
_EXPIRABLE = tuple(s.value for s in MessageStatus if can_move(s, MessageStatus.EXPIRED))
_PURGEABLE = tuple(s.value for s in MessageStatus if can_move(s, MessageStatus.PURGED))
# The moves that close a message (``messages.closed_at``): into the statuses its retention counts from.
_CLOSING = frozenset(MessageStatus(s) for s in _PURGEABLE)
# Steps that may be recorded after a later one: only the relay's, whose record follows the fact.
_RECORDED_LATE = frozenset({MessageStatus.PUBLISHED})
_FROM_ACCEPTED = frozenset({MessageStatus.ACCEPTED})
_PUBLISHABLE = [s.value for s in _FROM_ACCEPTED if can_move(s, MessageStatus.PUBLISHED)]
_BEYOND_PUBLISHED = [s.value for s in MessageStatus if overtaken(s, MessageStatus.PUBLISHED)]
# The settle's outbox rows, published, leave the queue (on SQLite): built once (a new statement per settle
# was built and looked up in the compiled cache each time, at low rates once per message).
_SQLITE_PUBLISHED = sa.delete(outbox).where(outbox.c.id.in_(sa.bindparam("ids", expanding=True)))

# The relay's settle on PostgreSQL in one statement (it runs in autocommit, so the statement is its own
# transaction): delete the confirmed outbox rows (published, they leave the queue), move their messages
# from accepted to published with a history row each at the time of its publish confirm, record an
# overtaken step once (dated no later than the step that overtook it), and enqueue the receipts the relay
# could not publish itself. The same steps as ``StatusMoves.move`` and the outbox delete, in one round trip.
_PG_SETTLE = sa.text(
    """
    WITH done AS (
        DELETE FROM outbox WHERE id = ANY(CAST(:done_ids AS BIGINT[]))
    ), confirmed AS (
        SELECT * FROM unnest(CAST(:message_ids AS VARCHAR[]), CAST(:confirmed_at AS TIMESTAMPTZ[])) AS c(id, at)
    ), moved AS (
        UPDATE messages AS m SET status = :published, status_changed_at = GREATEST(m.status_changed_at, c.at)
        FROM confirmed AS c
        WHERE m.id = c.id AND m.status = ANY(CAST(:allowed AS VARCHAR[]))
        RETURNING m.id, m.sender, m.status_changed_at AS at
    ), overtaken AS (
        SELECT m.id, m.sender, LEAST(c.at, (
            SELECT min(h.at) FROM status_history AS h
            WHERE h.message_id = m.id AND h.status = ANY(CAST(:later AS VARCHAR[]))
        )) AS at
        FROM messages AS m JOIN confirmed AS c ON c.id = m.id
        WHERE m.status = ANY(CAST(:later AS VARCHAR[]))
          AND NOT EXISTS (SELECT 1 FROM status_history AS h WHERE h.message_id = m.id AND h.status = :published)
    ), recorded AS (
        SELECT id, sender, at FROM moved UNION ALL SELECT id, sender, at FROM overtaken
    ), history AS (
        INSERT INTO status_history (message_id, status, at, actor, detail)
        SELECT id, CAST(:published AS VARCHAR), at, CAST(:actor AS VARCHAR), NULL FROM recorded
    ), receipts AS (
        INSERT INTO outbox (kind, message_id, routing_key, headers, body, created_at, attempts)
        SELECT CAST(:event_kind AS VARCHAR), recorded.id, recorded.sender || CAST(:receipt_suffix AS VARCHAR),
               CAST(:receipt_headers AS JSON), r.body, CAST(:now AS TIMESTAMPTZ), 0
        FROM recorded
        JOIN unnest(CAST(:receipt_ids AS VARCHAR[]), CAST(:receipt_bodies AS BYTEA[])) AS r(id, body)
          ON r.id = recorded.id
    )
    SELECT id FROM recorded
    """
)


def receipt_entry(message_id: str, status: MessageStatus, at: datetime) -> bytes:
    """One receipt as stored in an outbox row and as an element of a published receipt batch."""
    body = {"messageId": message_id, "status": status.value, "at": at}  # written as its isoformat()
    return json_bytes(body)


def receipt_routing_key(sender: str, status: MessageStatus) -> str:
    return f"{sender}.{status.value}"


def receipt_row(message_id: str, sender: str, status: MessageStatus, at: datetime) -> OutboxEntry:
    """The outbox row of the event that tells ``sender`` its message reached ``status``."""
    return OutboxEntry(
        OutboxKind.EVENT,
        message_id,
        receipt_routing_key(sender, status),
        {"status": status.value},
        receipt_entry(message_id, status, at),
    )


def _by_time(confirmed_at: Mapping[str, datetime]) -> dict[datetime, list[str]]:
    by_time: dict[datetime, list[str]] = {}
    for message_id, at in confirmed_at.items():
        by_time.setdefault(at, []).append(message_id)
    return by_time


@dataclass(frozen=True, slots=True)
class Moved:
    """A message a move recorded: who is owed the receipt, and the time the history row carries."""

    message_id: str
    sender: str
    at: datetime


class StatusMoves:
    """Moves messages' statuses inside the caller's transaction (a unit of work's or the relay's)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def move_one(
        self,
        message_id: str,
        new: MessageStatus,
        *,
        actor: str,
        at: datetime,
        detail: str | None = None,
        only_from: frozenset[MessageStatus] | None = None,
    ) -> Moved | None:
        """Move one message; None when the lifecycle does not allow it (or it does not exist)."""
        moved = await self.move([message_id], new, actor=actor, at=at, detail=detail, only_from=only_from)
        return moved[0] if moved else None

    async def move(
        self,
        message_ids: Sequence[str],
        new: MessageStatus,
        *,
        actor: str,
        at: datetime,
        detail: str | None = None,
        only_from: frozenset[MessageStatus] | None = None,
        receipts_for: Collection[str] | None = None,
    ) -> list[Moved]:
        """Move the given messages to ``new`` where allowed; record history and enqueue the senders' receipts.

        ``only_from`` narrows the statuses a message may leave: the relay publishes only what is ``accepted``,
        never re-publishing a message the dead-letter watcher has already moved on. ``receipts_for`` limits
        the receipts enqueued to those message ids (the relay has published the others itself); None: all.
        Returns the messages moved (an overtaken step recorded late is not a move, and is not returned).
        """
        if not message_ids:
            return []
        allowed = [s.value for s in MessageStatus if can_move(s, new) and (only_from is None or s in only_from)]
        moved = await self._update(messages.c.id.in_(list(message_ids)), allowed, new, at)
        recorded = list(moved)
        if new in _RECORDED_LATE:
            moved_ids = {m.message_id for m in moved}
            recorded += await self._overtaken([i for i in message_ids if i not in moved_ids], new, at)
        await self._record(recorded, new, actor, detail, receipts_for)
        return moved

    async def settle_published(
        self,
        outbox_ids: Sequence[int],
        confirmed_at: Mapping[str, datetime],
        now: datetime,
        receipts_for: Collection[str],
        *,
        then_commit: bool = False,
    ) -> None:
        """The relay's settle: the outbox rows RabbitMQ confirmed leave the queue, and their messages
        move from ``accepted`` to ``published`` at the time of their publish confirm (``confirmed_at`` by
        message id). Receipts are enqueued for ``receipts_for`` only: the relay published the others itself.
        ``then_commit``: the caller commits next, with nothing written between (on SQLite the settle's own
        trip may commit, ``settle_published_sqlite``)."""
        if self._connection.dialect.name == "postgresql":
            await self._settle_postgres(outbox_ids, confirmed_at, now, receipts_for)
            return
        if not receipts_for:  # the relay's record and settle: one trip, the rare overtaken step after it
            left = await settle_published_sqlite(
                self._connection, outbox_ids, confirmed_at, RELAY_ACTOR, then_commit=then_commit
            )
            for at, message_ids in _by_time({i: confirmed_at[i] for i in left}).items():
                overtaken_now = await self._overtaken(message_ids, MessageStatus.PUBLISHED, at)
                await self._record(overtaken_now, MessageStatus.PUBLISHED, RELAY_ACTOR, None, receipts_for)
            return
        if outbox_ids:
            await self._connection.execute(_SQLITE_PUBLISHED, {"ids": list(outbox_ids)})
        for at, message_ids in _by_time(confirmed_at).items():  # one per batch confirmed: a few per settle
            await self.move(
                message_ids,
                MessageStatus.PUBLISHED,
                actor=RELAY_ACTOR,
                at=at,
                only_from=_FROM_ACCEPTED,
                receipts_for=receipts_for,
            )

    async def _settle_postgres(
        self,
        outbox_ids: Sequence[int],
        confirmed_at: Mapping[str, datetime],
        now: datetime,
        receipts_for: Collection[str],
    ) -> None:
        owed = [message_id for message_id in confirmed_at if message_id in receipts_for]
        status = MessageStatus.PUBLISHED
        result = await self._connection.execute(
            _PG_SETTLE,
            {
                "now": now,
                "done_ids": list(outbox_ids),
                "message_ids": list(confirmed_at),
                "confirmed_at": list(confirmed_at.values()),
                "allowed": _PUBLISHABLE,
                "later": _BEYOND_PUBLISHED,
                "published": status.value,
                "actor": RELAY_ACTOR,
                "event_kind": OutboxKind.EVENT.value,
                "receipt_suffix": receipt_routing_key("", status),
                "receipt_headers": json_str({"status": status.value}),
                "receipt_ids": owed,
                "receipt_bodies": [receipt_entry(message_id, status, confirmed_at[message_id]) for message_id in owed],
            },
        )
        # A message the recipient confirmed in a transaction that committed while this statement ran was
        # neither moved (the UPDATE waited for that commit and found it moved on) nor seen as overtaken (the
        # statement's snapshot predates the commit): a statement of its own, with a fresh snapshot, records it.
        recorded = {str(row.id) for row in result}
        missed = {message_id: at for message_id, at in confirmed_at.items() if message_id not in recorded}
        for at, message_ids in _by_time(missed).items():
            overtaken_now = await self._overtaken(message_ids, status, at)
            await self._record(overtaken_now, status, RELAY_ACTOR, None, receipts_for)

    async def expire_due(self, now: datetime, *, limit: int = MAX_DUE) -> list[Moved]:
        """Expire messages not confirmed by their ``expires_at`` (at most ``limit``), with receipts."""
        due = (
            sa.select(messages.c.id)
            .where(messages.c.closed_at.is_(None), messages.c.expires_at <= now, messages.c.status.in_(_EXPIRABLE))
            .order_by(messages.c.seq)
            .limit(limit)
        )
        moved = await self._update(messages.c.id.in_(due.scalar_subquery()), _EXPIRABLE, MessageStatus.EXPIRED, now)
        await self._record(moved, MessageStatus.EXPIRED, BROKER_ACTOR, "time to live passed", None)
        return moved

    async def purge_due(self, cutoff: datetime, at: datetime, *, limit: int = MAX_DUE) -> list[Moved]:
        """Delete the content of messages that reached a final status (confirmed, expired) before ``cutoff``.

        Retention counts from the final status, so a message is kept for the full retention period after
        its recipient is done with it. The row, its sha256 and its history stay: the trail outlives the bytes.
        """
        due = (
            sa.select(messages.c.id)
            .where(MESSAGES_CLOSED_KEPT, messages.c.closed_at <= cutoff, messages.c.status.in_(_PURGEABLE))
            .order_by(messages.c.seq)
            .limit(limit)
        )
        moved = await self._update(messages.c.id.in_(due.scalar_subquery()), _PURGEABLE, MessageStatus.PURGED, at)
        await self._record(moved, MessageStatus.PURGED, BROKER_ACTOR, "retention passed", None)
        return moved

    async def _update(
        self, which: sa.ColumnElement[bool], allowed: Sequence[str], new: MessageStatus, at: datetime
    ) -> list[Moved]:
        # The status condition is in the UPDATE itself: a row another process moved after the caller read it
        # is left alone, so each message gets its history entry exactly once.
        changed_at = sa.case(
            (messages.c.status_changed_at > at, messages.c.status_changed_at),
            else_=sa.literal(at, messages.c.status_changed_at.type),
        )
        values: dict[str, object] = {"status": new.value, "status_changed_at": changed_at}
        if new in _CLOSING:
            values["closed_at"] = changed_at
        if new is MessageStatus.DEAD_LETTERED:
            values["dead_lettered_at"] = changed_at
        elif MessageStatus.DEAD_LETTERED.value in allowed:
            values["dead_lettered_at"] = None  # unchanged (and still no index written) where it was NULL
        if new is MessageStatus.PURGED:
            values["content"] = None
        result = await self._connection.execute(
            sa.update(messages)
            .where(which, messages.c.status.in_(list(allowed)))
            .values(values)
            .returning(messages.c.id, messages.c.sender, messages.c.status_changed_at)
        )
        return [Moved(row.id, row.sender, row.status_changed_at) for row in result]

    async def _overtaken(self, message_ids: Sequence[str], step: MessageStatus, at: datetime) -> list[Moved]:
        """Messages already beyond ``step`` that have no history of it: the step happened, so it is recorded
        once, the status left as is, dated no later than the first step that overtook it."""
        later = [s.value for s in MessageStatus if overtaken(s, step)]
        if not message_ids or not later:
            return []
        recorded_before = sa.exists().where(
            status_history.c.message_id == messages.c.id, status_history.c.status == step.value
        )
        first_later = (
            sa.select(sa.func.min(status_history.c.at))
            .where(status_history.c.message_id == messages.c.id, status_history.c.status.in_(later))
            .scalar_subquery()
        )
        result = await self._connection.execute(
            sa.select(
                messages.c.id, messages.c.sender, sa.type_coerce(first_later, UTC_TIMESTAMP).label("later_at")
            ).where(messages.c.id.in_(list(message_ids)), messages.c.status.in_(later), ~recorded_before)
        )
        return [Moved(row.id, row.sender, min(at, row.later_at) if row.later_at else at) for row in result]

    async def _record(
        self,
        recorded: Sequence[Moved],
        new: MessageStatus,
        actor: str,
        detail: str | None,
        receipts_for: Collection[str] | None,
    ) -> None:
        if not recorded:
            return
        await self._connection.execute(
            sa.insert(status_history),
            [
                {"message_id": m.message_id, "status": new.value, "at": m.at, "actor": actor, "detail": detail}
                for m in recorded
            ],
        )
        owed = [m for m in recorded if receipts_for is None or m.message_id in receipts_for]
        await OutboxRepository(self._connection).add_many(receipt_row(m.message_id, m.sender, new, m.at) for m in owed)
