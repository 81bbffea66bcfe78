"""The relay's heartbeat, beaten from a thread of its own with its own database connection.

Beaten on the broker's event loop, a heartbeat is only as punctual as the loop: a garbage collection, a
long synchronous step or a starved CPU that holds the loop up for 3 s made the other relays take a live
relay for dead and publish what it had in hand a second time. A thread with its own event loop and its own
connection beats on while the broker's loop is busy; only a process that is stopped or cut off from the
database falls silent. An in-memory SQLite database cannot be reached from a second engine (each engine has
its own): there the beat runs on the broker's loop, as it can only be one process anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from broker.store.engine import create_engine, sqlite_file
from broker.store.relay_heartbeats import RelayHeartbeats

JOIN_TIMEOUT_S = 5.0


@dataclass
class BeatState:
    """What the beating side tells the relay. Each field is written by the beating side only and read by
    the relay; single attribute writes need no lock."""

    beating_since: float | None = None  # monotonic time the current unbroken run of beats began
    error: BaseException | None = None  # the last failed beat's error, until a beat succeeds
    taken_for_dead: int = 0  # times its row was found gone: another relay took it for dead meanwhile


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
        started = clock()
        try:
            refreshed = await heartbeats.beat()
        except Exception as exc:
            state.beating_since, state.error = None, exc
        else:
            if beaten and not refreshed:
                state.taken_for_dead += 1
            beaten = True
            state.error = None
            if state.beating_since is None:
                state.beating_since = clock()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), max(0.0, every_s - (clock() - started)))


def _own_engine(engine: AsyncEngine) -> AsyncEngine | None:
    """An engine of its own on the same database (one beat at a time: one connection); None for an
    in-memory SQLite database."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and sqlite_file(url) is None:
        return None
    # As the broker's own engine, its commits leave the WAL to the broker's checkpoints: a beat whose commit
    # found the log past SQLite's threshold checkpointed it, fsyncs and all, once a second at 100 msg/s, and
    # the group commit's commit waited 32–50 ms behind it (p99 submit → delivered 41–55 against 25 ms).
    return create_engine(url, background_checkpoints=True)


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
