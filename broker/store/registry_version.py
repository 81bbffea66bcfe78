"""The registry's change counter on SQLite: one read tells whether any participant changed since the last.

PostgreSQL tells every process of a change to the participants by a notification (``registry_cache.py``).
SQLite has no such channel, and the ``dsve participants`` command changes the same file from another
process, so the embedded broker used to read the participant from the store on every authenticated request
to learn whether its caller was still active: a transaction of three trips to the connection's thread and a
compiled statement, about a quarter of the embedded broker's CPU per message. A trigger (migration 0013)
bumps ``registry_version.n`` on every insert, update and delete of a participant, by whichever connection;
reading that one row on a connection kept for it is one trip, and the cached answers stay good while the
number stays the same. The read runs in autocommit, so it sees every commit made before it began.
"""

from __future__ import annotations

import sqlite3

from broker.store import sqlite_driver

_READ = "SELECT n FROM registry_version WHERE id = 1"


def _read(connection: sqlite3.Connection) -> int | None:
    row = connection.execute(_READ).fetchone()
    return int(row[0]) if row is not None else None


class RegistryVersion:
    """A connection of its own to the SQLite file, opened at the first read, that reads the counter."""

    def __init__(self, database: str, timeout_s: float) -> None:
        self._database = database
        self._timeout_s = timeout_s
        self._connection: sqlite_driver.OneTripConnection | None = None

    async def read(self) -> int | None:
        """The counter; None when the database has no counter row (made without the migrations)."""
        connection = self._connection
        if connection is None:
            connection = sqlite_driver.connect(self._database, timeout=self._timeout_s, isolation_level=None)
            await connection
            self._connection = connection
        try:
            return await connection.run(_read)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
