"""The registry's change counter on SQLite: one read tells whether any participant changed since the last.

PostgreSQL tells every process of a change to the participants by a notification (``registry_cache.py``).
SQLite has no such channel, and the ``dsve participants`` command changes the same file from another
process, so the embedded broker used to read the participant from the store on every authenticated request
to learn whether its caller was still active: a transaction of three trips to the connection's thread and a
compiled statement, about a quarter of the embedded broker's CPU per message. A trigger (migration 0013)
bumps ``registry_version.n`` on every insert, update and delete of a participant, by whichever connection;
reading that one row on a connection kept for it is one trip, and the cached answers stay good while the
number stays the same. The read runs in autocommit, so it sees every commit made before it began.

A submission needs no read of its own before its body is read: the store's trip reads the counter after
it takes the write lock and stores nothing when the counter has moved since the cached answers the
submission was checked with (``RegistryMoved``); the writer then reads the registry again and stores again.

Requests that ask at the same moment share a read: each gets the answer of a read that began after it
asked (the one in flight when it asks began too early, so it joins the next), which is all "disabling
takes effect on the next request" needs. Under load one read serves every request that arrived while the
previous one ran, instead of a trip per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3

from broker.store.sqlite_own_connection import OwnConnection

_READ = "SELECT n FROM registry_version WHERE id = 1"


class RegistryMoved(Exception):
    """The registry changed after the cached answers a store relied on: nothing was stored; read the
    registry again and store again."""


def read_counter(connection: sqlite3.Connection) -> int | None:
    """The counter as ``connection`` sees it (in its transaction, if one is open); None without the row."""
    row = connection.execute(_READ).fetchone()
    return int(row[0]) if row is not None else None


def _retrieve(future: asyncio.Future[int | None]) -> None:
    """Mark a shared read's failure as seen: the callers that still wait get it, one that left needs not."""
    if not future.cancelled():
        future.exception()


class RegistryVersion:
    """A connection of its own to the SQLite file, opened at the first read, that reads the counter."""

    def __init__(self, database: str, timeout_s: float) -> None:
        self._connection = OwnConnection(database, timeout_s)
        self._next: asyncio.Future[int | None] | None = None  # the read not begun yet, that callers join
        self._running: asyncio.Task[None] | None = None
        self._in_flight: asyncio.Future[int | None] | None = None  # the read under way's callers
        self.reads = 0  # trips made to read the counter

    async def read(self) -> int | None:
        """The counter, read after this call began; None when the database has no counter row (made without
        the migrations)."""
        waiter = self._next
        if waiter is None:
            waiter = self._next = asyncio.get_running_loop().create_future()
            waiter.add_done_callback(_retrieve)
            if self._running is None:
                self._begin()
        return await asyncio.shield(waiter)

    def _begin(self) -> None:
        waiter, self._next = self._next, None
        self._in_flight = waiter
        if waiter is not None:
            self._running = asyncio.get_running_loop().create_task(self._read_for(waiter))

    async def _read_for(self, waiter: asyncio.Future[int | None]) -> None:
        try:
            value = await self._read_once()
        except Exception as exc:
            if not waiter.done():
                waiter.set_exception(exc)
        else:
            if not waiter.done():
                waiter.set_result(value)
        finally:
            self._running = None
            self._begin()  # those who asked while this read ran

    async def _read_once(self) -> int | None:
        self.reads += 1
        return await self._connection.run(read_counter)

    async def close(self) -> None:
        """Stop reading; whoever still waits for a read is cancelled, not left waiting."""
        for waiter in (self._next, self._in_flight):
            if waiter is not None:
                waiter.cancel()
        self._next = self._in_flight = None
        running = self._running
        if running is not None:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
        await self._connection.close()
