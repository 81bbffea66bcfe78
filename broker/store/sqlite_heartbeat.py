"""A relay's heartbeat on an SQLite file, beaten from a plain thread on a sqlite3 connection of its own.

The heartbeat must beat while the broker's event loop is held up, so it runs in a thread of its own. On
PostgreSQL that thread runs an event loop and an engine of its own (``relay_beats``). On an SQLite file it
did the same, and the beat, once a second however idle the broker was, went through SQLAlchemy's async
engine, a pool checkout, aiosqlite's thread and the two event loops: 3.6 ms of CPU a second, two fifths of
what an idle embedded broker spent. Here the thread is the connection's: it sleeps, runs the update (or
the insert) and commits, as ``RelayHeartbeats.beat`` does, with the values written as SQLAlchemy writes
them (``sqlite_prepared``), queuing for the file with the broker's other writers (``sqlite_write_gate``).
Like the broker's engine it leaves WAL checkpoints to the broker's checkpoint task.
"""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa

from broker.domain.clock import utc_now
from broker.store.engine import tune_sqlite
from broker.store.sqlite_prepared import Prepared
from broker.store.sqlite_write_gate import WriteGate
from broker.store.tables import relay_heartbeats

_BEAT_AT = sa.bindparam("beat_at", type_=relay_heartbeats.c.beat_at.type)
_OWNER = sa.bindparam("beating", type_=relay_heartbeats.c.owner.type)
_REFRESH = Prepared.of(sa.update(relay_heartbeats).where(relay_heartbeats.c.owner == _OWNER).values(beat_at=_BEAT_AT))
_FIRST = Prepared.of(sa.insert(relay_heartbeats).values(owner=_OWNER, beat_at=_BEAT_AT))


class FileHeartbeat:
    """Beats for ``owner`` in ``database``; used by one thread at a time. The connection opens at the first
    beat and is dropped after a beat that fails, so a moved or restored file costs one failed beat."""

    def __init__(self, database: str, owner: str, timeout_s: float) -> None:
        self._database = database
        self._owner = owner
        self._timeout_s = timeout_s
        self._gate = WriteGate(database, timeout_s)
        self._connection: sqlite3.Connection | None = None

    def beat(self) -> bool:
        """Refresh this relay's row, or insert it; whether it was still there (False at the first beat and
        after another relay took this one for dead)."""
        connection = self._connection or self._open()
        values = {"beating": self._owner, "beat_at": utc_now()}
        try:
            self._gate.before(connection, _REFRESH.sql)
            try:
                with connection:  # one transaction: committed, or rolled back when a statement fails
                    refreshed = connection.execute(_REFRESH.sql, _REFRESH.parameters(values)).rowcount > 0
                    if not refreshed:
                        connection.execute(_FIRST.sql, _FIRST.parameters(values))
            finally:
                self._gate.after(connection)
        except sqlite3.Error:
            self.close()
            raise
        return refreshed

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._database, timeout=self._timeout_s)
        try:
            tune_sqlite(connection, in_memory=False, background_checkpoints=True)  # as the broker's engine
        except sqlite3.Error:
            connection.close()
            raise
        self._connection = connection
        return connection

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            finally:
                self._gate.after(connection)
