"""SQLite through aiosqlite with one trip to the connection's thread per statement.

aiosqlite runs every call on a sqlite3 connection in a thread of its own and hands each result back
through the event loop; SQLAlchemy's adapter makes four such calls per statement (open a cursor, execute,
fetch the rows, close the cursor). Each trip wakes the thread and then the event loop: about 25 µs of
CPU, where SQLite answers a small statement in one or two. At low rates every submission is a
transaction of its own and its way to the consumer takes some twenty statements, so the trips were a
large share of the embedded broker's CPU per message. The cursor here opens, executes, fetches every row
and closes in one trip. SQLAlchemy's adapter reads every row right after executing anyway; the store uses
no server-side cursors, which this cursor would turn into ones that read everything at once.

Writers on the connections of one file queue in this process (``sqlite_write_gate``) instead of meeting
in SQLite's busy wait. A commit or rollback makes no trip while the connection's thread reported no
transaction open after the last call (a read's, the pool's on return, or one after a trip that committed
itself, ``run_then_commit``).

It relies on aiosqlite's connection internals (its call queue and thread); the version range in
``pyproject.toml`` is the one this was written and tested against.
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar, cast

import aiosqlite
from aiosqlite.context import contextmanager

from broker.store.sqlite_write_gate import WriteGate

_T = TypeVar("_T")

# What one trip answers: the rows, and what the cursor said about the statement before it was closed.
_Outcome = tuple[list[Any], Any, int, int | None]


class OneTripCursor(aiosqlite.Cursor):
    """A cursor whose statement and rows are one trip; fetching and closing cost none."""

    def __init__(self, conn: OneTripConnection) -> None:
        # No sqlite3 cursor is kept (the base class keeps one): each statement opens and closes its own.
        self.iter_chunk_size = conn.chunk_size
        self._conn = conn
        self._rows: list[Any] = []
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self._arraysize = 1

    @staticmethod
    def _statement(connection: sqlite3.Connection, gate: WriteGate, sql: str, parameters: Any, many: bool) -> _Outcome:
        """On the connection's thread: run the statement (its turn to write first, where it may write), read
        every row, close the cursor."""
        gate.before(connection, sql)
        cursor = connection.cursor()
        try:
            if many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters)
            description = cursor.description
            rows = cursor.fetchall() if description else []
            return rows, description, cursor.rowcount, cursor.lastrowid
        finally:
            cursor.close()
            gate.after(connection)

    async def _run(self, sql: str, parameters: Any, many: bool) -> OneTripCursor:
        conn = self._conn
        assert isinstance(conn, OneTripConnection)
        outcome = await conn.run(self._statement, conn.gate, sql, parameters, many)
        self._rows, self._description, self._rowcount, self._lastrowid = outcome
        return self

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> OneTripCursor:
        return await self._run(sql, [] if parameters is None else parameters, False)

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> OneTripCursor:
        return await self._run(sql, parameters, True)

    async def executescript(self, sql_script: str) -> OneTripCursor:
        raise NotImplementedError("the store runs no scripts through the broker's engine")

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = self._arraysize if size is None else size
        taken, self._rows = self._rows[:count], self._rows[count:]
        return taken

    async def fetchall(self) -> list[Any]:
        taken, self._rows = self._rows, []
        return taken

    async def close(self) -> None:
        self._rows = []

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    @property
    def description(self) -> Any:
        return self._description


class OneTripConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors cost one trip per statement."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int, gate: WriteGate) -> None:
        super().__init__(connector, iter_chunk_size)
        self.gate = gate
        # Each call reports, on the connection's thread as it ends, its number and whether it left SQLite in a
        # transaction (``transaction_ended`` reads it). Calls are numbered as they are queued, so the report of
        # an earlier call never answers for a later one, even for a call queued and then cancelled (which may
        # still run, and begin a transaction).
        self._queued = 0
        self._reported: tuple[int, bool] = (0, True)

    @property
    def chunk_size(self) -> int:
        return self._iter_chunk_size

    async def _execute(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """Every call aiosqlite queues to the thread comes through here."""
        self._queued += 1
        queued = self._queued

        def call() -> _T:
            try:
                return fn(*args, **kwargs)
            finally:
                self._reported = (queued, self._open_now())

        # aiosqlite leaves its call queue's entry point unannotated; this is its signature.
        execute = cast(Callable[..., Awaitable[_T]], super()._execute)
        return await execute(call)

    def _open_now(self) -> bool:
        """On the connection's thread: whether SQLite holds a transaction open now."""
        connection = self._connection
        if connection is None:
            return False
        try:
            return connection.in_transaction
        except sqlite3.ProgrammingError:  # closed: whatever it had open was rolled back
            return False

    async def run(self, function: Callable[..., _T], *args: object) -> _T:
        """``function(sqlite3 connection, *args)`` on the connection's thread."""
        return await self._execute(lambda: function(self._conn, *args))

    async def run_then_commit(self, function: Callable[..., _T], commit_if: Callable[[_T], bool], *args: object) -> _T:
        """``function(sqlite3 connection, gate, *args)`` and then, when ``commit_if`` holds for its result, a
        commit, in one trip: for a caller whose commit would follow at once, with nothing written between.
        A lone message's store and settle each made a second trip for their commit, and at low rates each
        trip is a wake-up of this thread and of the event loop, at the price of a cold CPU."""
        return await self.run(_then_commit, self.gate, function, commit_if, *args)

    @property
    def transaction_ended(self) -> bool:
        """Whether the last call queued has run and left no transaction open: a commit or a rollback then has
        nothing to end and makes no trip (sqlite3's own are no-ops then). The caller's commit after a trip
        that committed (``run_then_commit``), a read's commit and the pool's rollback of a connection handed
        back each cost a wake-up of two threads."""
        reported, left_open = self._reported
        return reported == self._queued and not left_open

    @contextmanager  # awaitable and an async context manager, as aiosqlite's own ``cursor()``
    async def cursor(self) -> aiosqlite.Cursor:
        return OneTripCursor(self)

    async def commit(self) -> None:
        if not self.transaction_ended:
            await self.run(_end, self.gate, sqlite3.Connection.commit)

    async def rollback(self) -> None:
        if not self.transaction_ended:
            await self.run(_end, self.gate, sqlite3.Connection.rollback)

    async def close(self) -> None:
        if self._connection is None:
            return
        try:
            await self.run(_end, self.gate, sqlite3.Connection.close)  # what was left open is rolled back
        finally:
            await super().close()  # the thread ends (closing twice is allowed)


def _end(connection: sqlite3.Connection, gate: WriteGate, end: Callable[[sqlite3.Connection], None]) -> None:
    """On the connection's thread: end the transaction, then let the next writer in."""
    try:
        end(connection)
    finally:
        gate.after(connection)


def _then_commit(
    connection: sqlite3.Connection,
    gate: WriteGate,
    function: Callable[..., _T],
    commit_if: Callable[[_T], bool],
    *args: object,
) -> _T:
    """On the connection's thread: ``function``, then its commit where ``commit_if`` says so, then the next
    writer's turn."""
    try:
        result = function(connection, gate, *args)
        if commit_if(result):
            connection.commit()
        return result
    finally:
        gate.after(connection)


def connect(database: str, **kwargs: Any) -> OneTripConnection:
    """What ``aiosqlite.connect`` does, with the one-trip connection (SQLAlchemy's ``async_creator_fn``)."""

    def connector() -> sqlite3.Connection:
        connection: sqlite3.Connection = sqlite3.connect(database, **kwargs)
        return connection

    gate = WriteGate(database, float(kwargs.get("timeout", 5.0)))
    connection = OneTripConnection(connector, 64, gate)
    # Collected without a close in the middle of a write (a connection a crashed task dropped): its sqlite3
    # connection's end let go of the file, and the gate must not keep the other writers waiting.
    weakref.finalize(connection, gate.abandon)
    # A connection nobody closed must not keep the process alive (SQLAlchemy does the same for aiosqlite's).
    connection._thread.daemon = True
    return connection
