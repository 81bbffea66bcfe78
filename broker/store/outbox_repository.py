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
class LeasedRow:
    """An outbox row written already leased to this process's relay, with what publishing it needs.

    It has the attributes of a row the relay claims (outbox columns and the message's routing fields), so
    the relay publishes it exactly as it would a claimed one.
    """

    id: int
    kind: str
    message_id: str
    routing_key: str
    headers: Mapping[str, Any]
    body: bytes | None
    attempts: int
    content: bytes | None
    message_type: str
    sender: str
    recipient: str
    sender_reference: str
    recipient_reference: str | None

    @classmethod
    def of(cls, outbox_id: int, entry: OutboxEntry, message: StoredMessage) -> LeasedRow:
        return cls(
            id=outbox_id,
            kind=entry.kind,
            message_id=entry.message_id,
            routing_key=entry.routing_key,
            headers=entry.headers,
            body=entry.body,
            attempts=1,
            content=message.content,
            message_type=message.message_type,
            sender=message.sender,
            recipient=message.recipient,
            sender_reference=message.sender_reference,
            recipient_reference=message.recipient_reference,
        )


class OutboxRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add_many(self, entries: Iterable[OutboxEntry]) -> None:
        """Queue several publishes in one round trip, for batches of messages committed together."""
        now = datetime.now(UTC)
        rows = []
        for entry in entries:
            rows.append(
                {
                    "kind": OutboxKind(entry.kind).value,
                    "message_id": entry.message_id,
                    "routing_key": entry.routing_key,
                    "headers": dict(entry.headers),
                    "body": entry.body,
                    "created_at": now,
                    "attempts": 0,
                }
            )
        if rows:
            await self._connection.execute(sa.insert(outbox), rows)
