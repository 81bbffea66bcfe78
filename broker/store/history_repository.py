"""The append-only status history of each message: rows are added, never changed or removed.

A history is read in the order the steps happened: by time, a step of the main line (accepted, published,
downloaded, confirmed) before a later one at the same time, then in the order the rows were written. Rows
are written in that order but for one case: the relay's record of a publish confirm can come after the
recipient has already downloaded the message, and is dated no later than that download.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.domain.lifecycle import MAIN_LINE, MessageStatus
from broker.domain.messages import HistoryEntry
from broker.store.tables import status_history

_STEP = sa.case(
    {status.value: rank for rank, status in enumerate(MAIN_LINE)}, value=status_history.c.status, else_=len(MAIN_LINE)
)
# The order a message's history is read in (every reader uses it).
HISTORY_ORDER = (status_history.c.at, _STEP, status_history.c.id)


class HistoryRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def append(
        self, message_id: str, status: MessageStatus, actor: str, detail: str | None, at: datetime
    ) -> None:
        await self.append_many([(message_id, status, actor, detail, at)])

    async def append_many(self, entries: Iterable[tuple[str, MessageStatus, str, str | None, datetime]]) -> None:
        """Several entries in one round trip: what expiry, purge and batched inserts need."""
        rows = [
            {"message_id": message_id, "status": str(status), "actor": actor, "detail": detail, "at": at}
            for message_id, status, actor, detail, at in entries
        ]
        if rows:
            await self._connection.execute(sa.insert(status_history), rows)

    async def for_message(self, message_id: str) -> list[HistoryEntry]:
        """The message's statuses in the order they were taken."""
        result = await self._connection.execute(
            sa.select(status_history.c.status, status_history.c.at, status_history.c.actor, status_history.c.detail)
            .where(status_history.c.message_id == message_id)
            .order_by(*HISTORY_ORDER)
        )
        return [HistoryEntry(MessageStatus(row.status), row.at, row.actor, row.detail) for row in result]
