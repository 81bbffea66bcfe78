"""Connections kept open between units of work, for the hot paths.

The relay's claim and settle, the outbox backlog and the group commit's batch are each one statement,
which in autocommit is its own transaction: on a kept connection (PostgreSQL) it needs no pool checkout, no
liveness ping and no BEGIN or COMMIT round trip. On SQLite the same calls are ordinary transactions, on kept
connections too: a checkout from SQLAlchemy's pool and the return to it (the pool's proxies, its reset)
cost a lone message's store and settle more of the embedded broker's CPU than their statements did.
A statement that fails drops its connection (the next takes a fresh one), so a restarted server costs one
failed statement.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from broker.store.unit_of_work import UnitOfWork

# At most this many connections are kept, and out at once: a caller beyond them waits for one. Before, a
# caller that found none idle took one from the engine's pool (a checkout, a liveness ping, a reset when it
# went back, and overflow connections opened and closed again, each preparing its statements anew): at 32
# concurrent file-transfer requests that churn was a fifth of the broker's samples. Eight leave the pool
# (10 + 10 overflow) twelve connections for everything else.
IDLE_CONNECTIONS = 8


class KeptConnections:
    """Up to ``idle_max`` autocommit connections, shared by every hot path of one broker process; a caller
    waits while all are in use (no caller holds one while it asks for another)."""

    def __init__(self, engine: AsyncEngine, idle_max: int = IDLE_CONNECTIONS) -> None:
        self.engine = engine
        self.autocommit = engine.dialect.name == "postgresql"
        self._idle: list[AsyncConnection] = []
        self._idle_max = idle_max
        self._free = asyncio.Semaphore(idle_max)
        self._closed = False

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A kept connection for a few statements: in autocommit on PostgreSQL (each statement is its own
        transaction, so callers write what must commit together as one statement), else one transaction."""
        async with self._free, self._held() as conn:
            if self.autocommit:
                yield conn
            else:
                async with conn.begin():
                    yield conn

    @contextlib.asynccontextmanager
    async def _held(self) -> AsyncIterator[AsyncConnection]:
        conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = await self.engine.connect()
            try:
                if self.autocommit:
                    await conn.execution_options(isolation_level="AUTOCOMMIT")
            except BaseException:
                await conn.close()
                raise
        try:
            yield conn
            # In autocommit this ends the autobegun (empty) transaction and sends nothing; elsewhere the caller
            # committed what it meant to keep, and what it left open is rolled back, as a pool's return would.
            if self.autocommit:
                await conn.commit()
            elif conn.in_transaction():
                await conn.rollback()
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.invalidate()
            with contextlib.suppress(Exception):
                await conn.close()
            raise
        if not self._closed and len(self._idle) < self._idle_max:
            self._idle.append(conn)
        else:
            await conn.close()

    @contextlib.asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        """A unit of work on a kept connection: in the held autocommit form on PostgreSQL (its reads and its
        one writing statement each commit by themselves), an ordinary transaction elsewhere (what it did not
        commit is rolled back when it ends); the caller still calls ``commit``."""
        async with self._free, self._held() as conn, UnitOfWork(self.engine, held=conn) as uow:
            yield uow

    def open(self) -> None:
        """Keep connections again after ``close``."""
        self._closed = False

    async def close(self) -> None:
        """Close the idle connections; until ``open``, a connection is closed when its statement is done."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                await conn.close()
