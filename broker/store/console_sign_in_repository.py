"""Failed console sign-ins per username and per client address, for the backoff in ``broker.console.sign_in``.

Two kinds of row in one table: a username's failures from any address (``client`` empty) and an address's
failures under any username (``username`` empty). Kept in the store rather than in memory so that several
broker processes share the counts: an attacker gains nothing by spreading attempts over them. Rows of
failures long past (unknown usernames included) are deleted as new failures are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.store.dialect_insert import conflict_insert
from broker.store.tables import console_sign_in_failures as failures_table


@dataclass(frozen=True, slots=True)
class FailureRecord:
    failures: int
    last_failure_at: datetime


class ConsoleSignInRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, username: str, client: str) -> FailureRecord | None:
        result = await self._connection.execute(
            sa.select(failures_table.c.failures, failures_table.c.last_failure_at).where(
                failures_table.c.username == username, failures_table.c.client == client
            )
        )
        row = result.first()
        return FailureRecord(row.failures, row.last_failure_at) if row else None

    async def record_failure(self, username: str, client: str, now: datetime) -> None:
        """Count one more failure; the increment happens in the database, so concurrent ones all count."""
        statement = conflict_insert(self._connection, failures_table).values(
            username=username, client=client, failures=1, last_failure_at=now
        )
        await self._connection.execute(
            statement.on_conflict_do_update(
                index_elements=[failures_table.c.username, failures_table.c.client],
                set_={"failures": failures_table.c.failures + 1, "last_failure_at": now},
            )
        )

    async def forget_before(self, cutoff: datetime) -> None:
        """Delete the counts whose last failure is older than ``cutoff``: their backoff has long passed."""
        await self._connection.execute(sa.delete(failures_table).where(failures_table.c.last_failure_at < cutoff))

    async def clear(self, username: str, client: str) -> None:
        await self._connection.execute(
            sa.delete(failures_table).where(failures_table.c.username == username, failures_table.c.client == client)
        )
