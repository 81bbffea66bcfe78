"""The relay's heartbeat, beaten from a thread of its own with its own database connection.

Beaten on the broker's event loop, a heartbeat is only as punctual as the loop: a garbage collection, a
long synchronous step or a starved CPU that holds the loop up for 3 s made the other relays take a live
relay for dead and publish what it had in hand a second time. A thread with its own connection beats on
while the broker's loop is busy; only a process that is stopped or cut off from the database falls silent.
On PostgreSQL the thread runs an event loop and an engine of its own; on an SQLite file it is a plain thread
on a sqlite3 connection (``sqlite_heartbeat``: no event loop, pool or second thread for a beat a second). An
in-memory SQLite database cannot be reached from a second engine (each engine has its own): there the beat
runs on the broker's loop, as it can only be one process anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from broker.periodic import until_tick
from broker.store.engine import SQLITE_BUSY_TIMEOUT_MS, create_engine, sqlite_file
from broker.store.relay_heartbeats import RelayHeartbeats
from broker.store.sqlite_heartbeat import FileHeartbeat

JOIN_TIMEOUT_S = 5.0


@dataclass
class BeatState:
    """What the beating side tells the relay. Each field is written by the beating side only and read by
    the relay; single attribute writes need no lock."""

    beating_since: float | None = None  # monotonic time the current unbroken run of beats began
    error: BaseException | None = None  # the last failed beat's error, until a beat succeeds
    taken_for_dead: int = 0  # times its row was found gone: another relay took it for dead meanwhile


def note_beat(state: BeatState, beaten: bool, refreshed: bool | Exception, clock: Callable[[], float]) -> bool:
    """Put one beat's outcome (whether its row was still there, or its error) into ``state``; whether any
    beat has succeeded so far."""
    if isinstance(refreshed, Exception):
        state.beating_since, state.error = None, refreshed
        return beaten
    if beaten and not refreshed:
        state.taken_for_dead += 1
    state.error = None
    if state.beating_since is None:
        state.beating_since = clock()
    return True


async def beat_until(
    heartbeats: RelayHeartbeats,
    state: BeatState,
    stopping: asyncio.Event,
    every_s: float,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Beat every ``every_s`` until ``stopping`` is set; every outcome goes into ``state``."""
    beaten = False
    while not stopping.is_set():
        try:
            refreshed: bool | Exception = await heartbeats.beat()
        except Exception as exc:
            refreshed = exc
        beaten = note_beat(state, beaten, refreshed, clock)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), until_tick(every_s, clock()))


def beat_file_until(
    heartbeat: FileHeartbeat,
    state: BeatState,
    stopping: threading.Event,
    every_s: float,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """``beat_until`` for a plain thread beating an SQLite file: blocking calls, a threading event to stop."""
    beaten = False
    try:
        while not stopping.is_set():
            try:
                refreshed: bool | Exception = heartbeat.beat()
            except Exception as exc:
                refreshed = exc
            beaten = note_beat(state, beaten, refreshed, clock)
            stopping.wait(until_tick(every_s, clock()))
    finally:
        heartbeat.close()


def _own_engine(engine: AsyncEngine) -> AsyncEngine | None:
    """An engine of its own on the same PostgreSQL database (one beat at a time: one connection); None for
    an in-memory SQLite database (an SQLite file is beaten by ``FileHeartbeat``)."""
    if engine.url.get_backend_name() == "sqlite":
        return None
    return create_engine(engine.url)


class Beater:
    """Beats for one relay, in a thread where the database can be reached from one (see the module)."""

    def __init__(self, heartbeats: RelayHeartbeats, every_s: float) -> None:
        self._heartbeats = heartbeats
        self.every_s = every_s
        self.state = BeatState()
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None
        # The stop event of the loop that beats, and that loop (set from the relay's loop when it stops).
        self._stopping: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None
        self._stop_requested = threading.Event()

    def start(self) -> None:
        self._stop_requested.clear()
        database = sqlite_file(self._heartbeats.engine.url)
        if database is not None:
            heartbeat = FileHeartbeat(database, self._heartbeats.owner, SQLITE_BUSY_TIMEOUT_MS / 1000)
            args = (heartbeat, self.state, self._stop_requested, self.every_s)
            self._thread = threading.Thread(target=beat_file_until, args=args, name="relay heartbeat", daemon=True)
            self._thread.start()
            return
        engine = _own_engine(self._heartbeats.engine)
        if engine is None:
            stopping = asyncio.Event()
            self._stopping = (asyncio.get_running_loop(), stopping)
            self._task = asyncio.get_running_loop().create_task(
                beat_until(self._heartbeats, self.state, stopping, self.every_s), name="relay heartbeat"
            )
            return
        beats = self._heartbeats.on(engine)
        self._thread = threading.Thread(target=self._beat_in_thread, args=(beats,), name="relay heartbeat", daemon=True)
        self._thread.start()

    def _beat_in_thread(self, beats: RelayHeartbeats) -> None:
        async def run() -> None:
            stopping = asyncio.Event()
            self._stopping = (asyncio.get_running_loop(), stopping)
            if self._stop_requested.is_set():  # ``stop`` came before this loop was there to be told
                stopping.set()
            try:
                await beat_until(beats, self.state, stopping, self.every_s)
            finally:
                await beats.engine.dispose()

        asyncio.run(run())

    async def stop(self) -> None:
        """Stop beating: a beat under way finishes, the next one does not come."""
        self._stop_requested.set()
        stopping, self._stopping = self._stopping, None
        if stopping is not None:
            loop, event = stopping
            with contextlib.suppress(RuntimeError):  # that loop has ended already
                loop.call_soon_threadsafe(event.set)
        task, self._task = self._task, None
        if task is not None:
            await task
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.to_thread(thread.join, JOIN_TIMEOUT_S)
