"""A connection of its own to an SQLite file, for a background reader or task beside the engine's pool.

The registry's change counter and the WAL checkpoints each read or write outside any unit of work, once per
request or once a second: through the engine each would pay a pool checkout, a reset and SQLAlchemy's
statement path. This connection opens at its first use, runs each call as one trip to its thread, and is
dropped after a call that fails (the next call opens a fresh one), so a moved or restored file costs one
failed call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from broker.store import sqlite_driver

_T = TypeVar("_T")


class OwnConnection:
    """An autocommit connection to ``database``, opened on first use."""

    def __init__(self, database: str, timeout_s: float) -> None:
        self._database = database
        self._timeout_s = timeout_s
        self._connection: sqlite_driver.OneTripConnection | None = None

    async def run(self, function: Callable[..., _T], *args: object) -> _T:
        """``function(sqlite3 connection, *args)`` on the connection's thread."""
        connection = self._connection
        if connection is None:
            connection = sqlite_driver.connect(self._database, timeout=self._timeout_s, isolation_level=None)
            await connection
            self._connection = connection
        try:
            return await connection.run(function, *args)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
