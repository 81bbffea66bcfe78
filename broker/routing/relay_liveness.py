"""The relay's heartbeat task: beat every second and take over the rows of relays that stopped beating.

A relay judges the others only after it has itself beaten without a gap for as long as a relay may stay
silent (``dead_after_s``): after a database outage or failover every relay was silent for a while, and the
first one back must not take the rows the others still hold (they would be published twice) before they
have had the time to beat again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from broker import outage_log
from broker.periodic import cancel_and_wait
from broker.store.outages import note_store_outage
from broker.store.relay_heartbeats import BEAT_EVERY_S, RelayHeartbeats

log = logging.getLogger("broker.routing.relay")


class RelayLiveness:
    def __init__(
        self,
        heartbeats: RelayHeartbeats,
        on_released: Callable[[], None],
        *,
        beat_every_s: float = BEAT_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._heartbeats = heartbeats
        self._on_released = on_released
        self.beat_every_s = beat_every_s
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._beating_since: float | None = None
        self.taken_over = 0

    async def start(self) -> None:
        """Beat once before the relay claims anything (the rows it claims name it), then every second."""
        with contextlib.suppress(Exception):
            await self._beat()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox relay heartbeat")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        try:
            await self._heartbeats.stop()
        except Exception as exc:
            if not note_store_outage(exc):
                log.warning("outbox relay: could not release its leases at stop", exc_info=True)

    async def _beat(self) -> None:
        await self._heartbeats.beat()
        if self._beating_since is None:
            self._beating_since = self._clock()

    async def _run(self) -> None:
        dead_after_s = self._heartbeats.dead_after.total_seconds()
        while True:
            await asyncio.sleep(self.beat_every_s)
            try:
                await self._beat()
                if self._clock() - (self._beating_since or self._clock()) >= dead_after_s:
                    released = await self._heartbeats.take_over_orphans()
                    if released:
                        self.taken_over += released
                        log.warning(
                            "outbox relay: took over %d rows of a relay that stopped",
                            released,
                            extra={"rows": released},
                        )
                        self._on_released()
                outage_log.DATABASE.recovered()
            except Exception as exc:
                self._beating_since = None  # silent itself: judge nobody until it has beaten long enough again
                if not note_store_outage(exc):
                    log.warning("outbox relay: heartbeat failed", exc_info=True)
