"""One writer at a time per SQLite file within this process, queued on a lock instead of SQLite's busy wait.

SQLite lets one connection write at a time. A connection that finds the file locked by another waits in
SQLite's busy handler, which sleeps in growing steps (1, 2, 5, 10, 15, 20, 25 ms and on) and checks again:
however soon the lock is freed, the waiter sleeps out its current step. The embedded broker writes from
several connections at once (the group commit, the relay's claim and settle, its heartbeat, the console's
index), so at 100 msg/s writers met all the time and a submission waited tens of milliseconds for a lock
freed long before. Here a writer first takes the file's lock in this process, on the connection's own thread
(never the event loop), and is woken the moment the writer before it commits or rolls back.

The lock is taken before a statement that may start a write transaction and held until the connection is
out of its transaction again. Which statements write is guessed from their first words (INSERT, UPDATE,
DELETE, REPLACE, a WITH that contains one, BEGIN IMMEDIATE or EXCLUSIVE): a statement guessed wrong either
holds the lock only while it runs (a read) or falls back to SQLite's own busy wait (a write), never more.
Other processes on the same file are not queued here; between them SQLite's locking applies as before. A
writer that cannot have the lock within the busy timeout goes on without it, to meet SQLite's own answer.
"""

from __future__ import annotations

import functools
import os
import re
import sqlite3
import threading

_GATES: dict[str, threading.Lock] = {}
_GATES_LOCK = threading.Lock()
_WRITES = re.compile(
    r"\s*(?:INSERT|UPDATE|DELETE|REPLACE|BEGIN\s+(?:IMMEDIATE|EXCLUSIVE)|WITH\b.*\b(?:INSERT|UPDATE|DELETE|REPLACE)\b)",
    re.IGNORECASE | re.DOTALL,
)


@functools.lru_cache(maxsize=1024)
def may_write(sql: str) -> bool:
    """Whether ``sql`` may start a write transaction (the store's statements are few: the guesses are kept)."""
    return _WRITES.match(sql) is not None


def _key(database: str) -> str | None:
    """The file behind ``database``; None for a private in-memory database (nobody else can write to it)."""
    if database in ("", ":memory:") or (database.startswith("file::memory:") and "cache=shared" not in database):
        return None
    if database.startswith("file:"):
        return database
    return os.path.realpath(database)


class WriteGate:
    """The lock of one connection's file, and whether that connection holds it. Used on the connection's
    thread only (each sqlite3 connection runs on one thread), so ``held`` needs no lock of its own."""

    def __init__(self, database: str, timeout_s: float) -> None:
        key = _key(database)
        self._lock: threading.Lock | None = None
        if key is not None:
            with _GATES_LOCK:
                self._lock = _GATES.setdefault(key, threading.Lock())
        self._timeout_s = timeout_s
        self.held = False

    def before(self, connection: sqlite3.Connection, sql: str) -> None:
        """Before ``sql`` runs: queue for the file when it may start writing."""
        if self._lock is None or self.held or connection.in_transaction or not may_write(sql):
            return
        self.held = self._lock.acquire(timeout=self._timeout_s)

    def abandon(self) -> None:
        """The connection is gone without a close (collected): SQLite let go of the file with it, so must this."""
        if self.held:
            self.held = False
            assert self._lock is not None
            self._lock.release()

    def after(self, connection: sqlite3.Connection) -> None:
        """After a statement, a commit, a rollback or a close: let the next writer in once out of a transaction."""
        if self.held and not _in_transaction(connection):
            self.held = False
            assert self._lock is not None
            self._lock.release()


def _in_transaction(connection: sqlite3.Connection) -> bool:
    try:
        return connection.in_transaction
    except sqlite3.ProgrammingError:  # closed: whatever it had open was rolled back
        return False
