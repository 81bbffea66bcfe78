"""Adding rows to the transactional outbox. The relay in ``broker.routing`` claims and publishes them.

An outbox row is written in the same transaction as the change it announces, so a message or event is
published if and only if that change committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.domain.messages import StoredMessage
from broker.store.outbox_kind import OutboxKind
from broker.store.tables import outbox


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One publish to make once the transaction commits."""

    kind: OutboxKind
    message_id: str
    routing_key: str
    headers: Mapping[str, Any] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class ClaimedRow:
    """An outbox row leased to one relay, with what publishing it needs: claimed by the relay, or written
    already leased to it by the group commit.

    ``body`` is what to publish: an event's JSON, or for a message its stored content (None once purged).
    ``sender`` is set on message rows: who is owed the ``published`` receipt; ``sender_active`` False when
    that sender is disabled, so the receipt waits in the outbox with its other rows instead of being published.
    ``published_at`` is set on a message row whose publish is already recorded (the time of its confirm): a
    relay that stopped between recording it and settling the row; it is not published again, only settled.
    """

    outbox_id: int
    kind: OutboxKind
    message_id: str
    routing_key: str
    headers: Mapping[str, str]
    body: bytes | None
    attempts: int
    sender: str | None = None
    sender_active: bool = True
    published_at: datetime | None = None

    @classmethod
    def leased(cls, outbox_id: int, entry: OutboxEntry, message: StoredMessage) -> ClaimedRow:
        """The row ``entry`` became when it was written leased, beside the message it announces."""
        is_message = entry.kind is OutboxKind.MESSAGE
        return cls(
            outbox_id=outbox_id,
            kind=entry.kind,
            message_id=entry.message_id,
            routing_key=entry.routing_key,
            headers={str(k): str(v) for k, v in entry.headers.items()},
            body=message.content if is_message else entry.body,
            attempts=1,
            sender=message.sender if is_message else None,
        )


def outbox_rows(entries: Iterable[OutboxEntry]) -> list[dict[str, Any]]:
    """The rows of the ``outbox`` table that queue ``entries``, for an INSERT of the caller's."""
    now = datetime.now(UTC)
    return [
        {
            "kind": OutboxKind(entry.kind).value,
            "message_id": entry.message_id,
            "routing_key": entry.routing_key,
            "headers": dict(entry.headers),
            "body": entry.body,
            "created_at": now,
            "attempts": 0,
        }
        for entry in entries
    ]


class OutboxRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add_many(self, entries: Iterable[OutboxEntry]) -> None:
        """Queue several publishes in one round trip, for batches of messages committed together."""
        rows = outbox_rows(entries)
        if rows:
            await self._connection.execute(sa.insert(outbox), rows)

    async def add_many_leased(self, entries: Iterable[OutboxEntry], lease_until: datetime, leased_by: str) -> list[int]:
        """Queue several publishes already leased to the relay ``leased_by`` (counted as its first attempt), in
        one round trip; their ids, in order. If that relay never publishes them, the lease runs out and any
        relay claims them.

        The ids are matched by (message, kind), one row each, not by position: a returned order that must
        follow the parameters makes SQLAlchemy insert one row per statement on SQLite."""
        entries = list(entries)
        rows = [dict(row, lease_until=lease_until, leased_by=leased_by, attempts=1) for row in outbox_rows(entries)]
        if not rows:
            return []
        result = await self._connection.execute(
            sa.insert(outbox).returning(outbox.c.id, outbox.c.message_id, outbox.c.kind), rows
        )
        ids = {(row.message_id, row.kind): row.id for row in result}
        return [ids[(entry.message_id, OutboxKind(entry.kind).value)] for entry in entries]
