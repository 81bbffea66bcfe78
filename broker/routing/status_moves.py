"""Status changes made by routing (published, dead-lettered) and the receipt event each one owes the sender.

A move is one conditional UPDATE that only touches rows whose current status may be followed by the new
one (``broker.domain.lifecycle.can_move``), so a late confirm or a second relay can never move a message
backwards or repeat a step; the rows moved get a history row and an event. A step that was overtaken (a
recipient downloaded the message over HTTP before the relay recorded its publish confirm) is still recorded
and receipted, once, without moving the status back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.domain.lifecycle import MessageStatus, can_move, overtaken
from broker.routing.receipt_batches import receipt_entry
from broker.store import tables

RELAY_ACTOR = "relay"
EVENT_KIND = "event"
MESSAGE_KIND = "message"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Moved:
    message_id: str
    sender: str
    # For an overtaken step: when the later step was recorded. The step is recorded no earlier than that,
    # so the history keeps its times in the order its rows were written.
    later_step_at: datetime | None = None


def receipt_row(message_id: str, sender: str, status: MessageStatus, at: datetime) -> dict[str, object]:
    """The outbox row of the event that tells the sender its message reached ``status``."""
    return {
        "kind": EVENT_KIND,
        "message_id": message_id,
        "routing_key": f"{sender}.{status.value}",
        "headers": {"status": status.value},
        "body": receipt_entry(message_id, status, at),
        "created_at": at,
        "attempts": 0,
    }


async def move_status(
    conn: AsyncConnection,
    message_ids: Sequence[str],
    new: MessageStatus,
    *,
    actor: str,
    at: datetime,
    detail: str | None = None,
    only_from: frozenset[MessageStatus] | None = None,
    receipts_for: frozenset[str] | None = None,
) -> list[Moved]:
    """Move the given messages to ``new`` where allowed; record history and enqueue the sender's receipts.

    ``only_from`` narrows the statuses a message may leave: the relay publishes only what is ``accepted``,
    never re-publishing a message the dead-letter watcher has already moved on. ``receipts_for`` limits the
    receipts enqueued to those message ids (the relay has published the others itself); None: all of them.
    """
    if not message_ids:
        return []
    allowed = [s.value for s in MessageStatus if can_move(s, new) and (only_from is None or s in only_from)]
    messages = tables.messages
    result = await conn.execute(
        sa.update(messages)
        .where(messages.c.id.in_(list(message_ids)), messages.c.status.in_(allowed))
        .values(status=new.value, status_changed_at=at)
        .returning(messages.c.id, messages.c.sender)
    )
    moved = [Moved(row.id, row.sender) for row in result]
    recorded = moved + await _overtaken(conn, [i for i in message_ids if i not in {m.message_id for m in moved}], new)
    if recorded:
        await conn.execute(
            sa.insert(tables.status_history),
            [
                {
                    "message_id": m.message_id,
                    "status": new.value,
                    "at": max(at, m.later_step_at) if m.later_step_at else at,
                    "actor": actor,
                    "detail": detail,
                }
                for m in recorded
            ],
        )
        owed = [m for m in recorded if receipts_for is None or m.message_id in receipts_for]
        if owed:
            await conn.execute(sa.insert(tables.outbox), [receipt_row(m.message_id, m.sender, new, at) for m in owed])
    return moved


async def _overtaken(conn: AsyncConnection, message_ids: Sequence[str], step: MessageStatus) -> list[Moved]:
    """Messages already beyond ``step`` (downloaded over HTTP before the relay recorded its confirm) that
    have no history of it: the step happened, so it is recorded and receipted once, the status left as is."""
    later = [s.value for s in MessageStatus if overtaken(s, step)]
    if not message_ids or not later:
        return []
    messages, history = tables.messages, tables.status_history
    recorded_before = sa.exists().where(history.c.message_id == messages.c.id, history.c.status == step.value)
    result = await conn.execute(
        sa.select(messages.c.id, messages.c.sender, messages.c.status_changed_at).where(
            messages.c.id.in_(list(message_ids)), messages.c.status.in_(later), ~recorded_before
        )
    )
    return [Moved(row.id, row.sender, row.status_changed_at) for row in result]
