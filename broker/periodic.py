"""A background pass repeated every few seconds until the broker stops: lifecycle, store maintenance,
refusal counts.

One loop for all of them, so each gets the same guarantees: a failing pass is logged and the next one runs
on time; ``stop`` wakes the loop at once instead of waiting out the interval, lets a pass in progress
finish within ``stop_timeout_s`` and cancels it after that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from broker.store.outages import note_store_outage

log = logging.getLogger(__name__)


def until_tick(interval_s: float, now: float | None = None) -> float:
    """Seconds from ``now`` (the monotonic clock, which is also the event loop's) to the next multiple of
    ``interval_s``: what a poller waits so that the broker's pollers wake together.

    An idle machine charges a wake-up far more than the work it does: the relay's heartbeat took 30 µs of
    CPU back to back and 0.6–1.3 ms after a second's pause (caches and the idle core's state lost). Each
    once-a-second poller waiting its own second from its own last pass woke the process at its own moment;
    waiting for the same ticks, they run one after the other in one wake-up, and all but the first find
    the process warm. A pass that ends just before a tick is followed by the next one sooner than
    ``interval_s``; no poller here needs more than "at most ``interval_s`` apart"."""
    if interval_s <= 0:
        return 0.0
    current = time.monotonic() if now is None else now
    return interval_s - (current % interval_s)


class Periodic:
    def __init__(
        self,
        name: str,
        interval_s: float,
        run_pass: Callable[[], Awaitable[object]],
        *,
        immediately: bool,
        failure: str,
        stop_timeout_s: float = 5.0,
    ) -> None:
        self.name = name
        self._interval_s = interval_s
        self._run_pass = run_pass
        self._immediately = immediately  # run the first pass at start, not one interval later
        self._failure = failure
        self._stop_timeout_s = stop_timeout_s
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self.passes = 0

    async def start(self) -> None:
        if self._task is None:
            self._stop.clear()
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stop.set()
        try:
            await asyncio.wait_for(task, self._stop_timeout_s)
        except TimeoutError:
            await cancel_and_wait(task)

    async def _run(self) -> None:
        if not self._immediately:
            await self._wait()
        while not self._stop.is_set():
            try:
                await self._run_pass()
                self.passes += 1
            except Exception as exc:
                if not note_store_outage(exc):
                    log.exception(self._failure)
            await self._wait()

    async def _wait(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), until_tick(self._interval_s))


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel a background task and wait until it has unwound (its ``finally`` blocks have run)."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
