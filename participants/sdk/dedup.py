"""The consumer's own record of handled message ids, so a redelivery never applies its effect twice.

RabbitMQ (like any at-least-once bus) redelivers a message whose ack was lost with a connection. The
record lives in the participant's store, not the broker's: it must survive the participant's restarts
and answer "did *I* already handle this?". An SQLite file serves by default; any SQLAlchemy URL works.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

_metadata = sa.MetaData()

handled_messages = sa.Table(
    "handled_messages",
    _metadata,
    sa.Column("message_id", sa.String(64), primary_key=True),
    sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
)

DEFAULT_DEDUP_URL = f"sqlite+aiosqlite:///{Path('dsve-handled.db').resolve()}"


def _sqlite_wal(dbapi_connection: Any, _record: Any) -> None:
    """WAL with NORMAL sync: a commit per handled message without an fsync each, still crash-safe for the file.

    A power loss may forget the last few ids; those messages were acked, so they are not redelivered.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class DedupStore:
    """Handled message ids in a table of their own; open before use, close when done."""

    def __init__(self, url: str = DEFAULT_DEDUP_URL) -> None:
        self.url = url
        self._engine: AsyncEngine | None = None

    async def open(self) -> None:
        if self._engine is not None:
            return
        if self.url.startswith("sqlite"):
            self._engine = create_async_engine(self.url, connect_args={"timeout": 30})
            sa.event.listen(self._engine.sync_engine, "connect", _sqlite_wal)
        else:
            self._engine = create_async_engine(self.url)
        async with self._engine.begin() as conn:
            await conn.run_sync(_metadata.create_all)

    async def close(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            await engine.dispose()

    async def contains(self, message_id: str) -> bool:
        async with self._require().connect() as conn:
            found = await conn.scalar(
                sa.select(handled_messages.c.message_id).where(handled_messages.c.message_id == message_id)
            )
        return found is not None

    async def remember(self, message_id: str) -> bool:
        """Record the id as handled; False when it already was (another consumer got there first)."""
        try:
            async with self._require().begin() as conn:
                await conn.execute(
                    sa.insert(handled_messages).values(message_id=message_id, handled_at=datetime.now(UTC))
                )
        except IntegrityError:
            return False
        return True

    async def count(self) -> int:
        async with self._require().connect() as conn:
            return int(await conn.scalar(sa.select(sa.func.count()).select_from(handled_messages)) or 0)

    def _require(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("the dedup store is not open")
        return self._engine
