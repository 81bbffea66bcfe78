"""The relay's liveness: a heartbeat (``relay_beats``) and, every second, taking over the rows of relays
that stopped beating.

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
from broker.periodic import cancel_and_wait, until_tick
from broker.routing.relay_beats import Beater
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
    ) -> None:
        self._heartbeats = heartbeats
        self._on_released = on_released
        self.beat_every_s = beat_every_s
        self._beater = Beater(heartbeats, beat_every_s)
        self._task: asyncio.Task[None] | None = None
        self._taken_for_dead = 0
        self.taken_over = 0

    async def start(self) -> None:
        """Beat once before the relay claims anything (the rows it claims name it), then every second."""
        with contextlib.suppress(Exception):
            await self._heartbeats.beat()
        if self._task is None:
            self._beater.start()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox relay takeover")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        await self._beater.stop()
        try:
            await self._heartbeats.stop()
        except Exception as exc:
            if not note_store_outage(exc):
                log.warning("outbox relay: could not release its leases at stop", exc_info=True)

    async def _run(self) -> None:
        dead_after_s = self._heartbeats.dead_after.total_seconds()
        state = self._beater.state
        while True:
            await asyncio.sleep(until_tick(self.beat_every_s))
            if state.taken_for_dead != self._taken_for_dead:
                self._taken_for_dead = state.taken_for_dead
                log.warning("outbox relay: another relay took this one for dead; what it held may go out twice")
            error = state.error
            if error is not None:
                if not note_store_outage(error):
                    log.warning("outbox relay: heartbeat failed: %s", type(error).__name__)
                continue
            since = state.beating_since
            if since is None or time.monotonic() - since < dead_after_s:
                continue  # silent itself a moment ago: judge nobody until it has beaten long enough again
            try:
                released = await self._heartbeats.take_over_orphans()
            except Exception as exc:
                if not note_store_outage(exc):
                    log.warning("outbox relay: taking over the rows of stopped relays failed", exc_info=True)
                continue
            outage_log.DATABASE.recovered()
            if released:
                self.taken_over += released
                log.warning(
                    "outbox relay: took over %d rows of a relay that stopped", released, extra={"rows": released}
                )
                self._on_released()
