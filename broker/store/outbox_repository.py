"""Adding rows to the transactional outbox. The relay in ``broker.routing`` claims and publishes them.

An outbox row is written in the same transaction as the change it announces, so a message or event is
published if and only if that change committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.store.tables import outbox

OUTBOX_KINDS = frozenset({"message", "event"})


class OutboxRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(
        self,
        kind: str,
        message_id: str,
        routing_key: str,
        headers: Mapping[str, Any],
        body: bytes | None = None,
    ) -> None:
        """Queue one publish: ``message`` (the body is read from the message row) or ``event`` (JSON body)."""
        if kind not in OUTBOX_KINDS:
            raise ValueError(f"outbox kind must be one of {sorted(OUTBOX_KINDS)}, not {kind!r}")
        await self._connection.execute(
            sa.insert(outbox).values(
                kind=kind,
                message_id=message_id,
                routing_key=routing_key,
                headers=dict(headers),
                body=body,
                created_at=datetime.now(UTC),
                attempts=0,
            )
        )
