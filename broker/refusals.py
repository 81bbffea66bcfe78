"""Refusals by reason, counted in memory and added to the store every few seconds.

Counting each refusal with its own write would let a flood of bad requests become a flood of writes. Here a
refusal only bumps an in-memory count per (UTC minute, error); a background task adds the counts to the
store every ``interval_s`` and once more at shutdown, so the writes are bounded by time, not by traffic. The
store adds rather than overwrites, so the counts of several broker processes sum up and survive restarts.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from broker.domain.errors import Error
from broker.periodic import Periodic
from broker.store.refusal_repository import RefusalRepository

log = logging.getLogger(__name__)

# Minutes older than this are deleted (at most once an hour); the console shows the last day.
KEEP_FOR = timedelta(days=30)
_PRUNE_EVERY = timedelta(hours=1)


def minute_of(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


class RefusalLog:
    """In-memory refusal counts per (minute, error), flushed to ``refusal_counts`` by a background task."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], datetime], interval_s: float) -> None:
        self._engine = engine
        self._clock = clock
        self._pending: Counter[tuple[datetime, Error]] = Counter()
        self._pruned_at: datetime | None = None
        self._flusher = Periodic(
            "refusal counts",
            interval_s,
            self.flush,
            immediately=False,
            failure="flushing refusal counts failed; they are kept for the next try",
        )

    def record(self, error: Error) -> None:
        """Count one refusal; no I/O, so it costs the same under a flood."""
        self._pending[(minute_of(self._clock()), error)] += 1

    @property
    def pending(self) -> int:
        """Refusals counted but not yet in the store."""
        return sum(self._pending.values())

    async def flush(self) -> int:
        """Add the pending counts to the store in one transaction; on failure they stay pending for the next try.

        Answers how many (minute, code) rows were written.
        """
        counts, self._pending = self._pending, Counter()
        if not counts:
            return 0
        now = self._clock()
        prune = self._pruned_at is None or now - self._pruned_at >= _PRUNE_EVERY
        try:
            async with self._engine.begin() as connection:
                repository = RefusalRepository(connection)
                await repository.add(counts)
                if prune:
                    await repository.delete_before(now - KEEP_FOR)
        except BaseException:
            self._pending.update(counts)  # refusals counted meanwhile are kept too
            raise
        if prune:
            self._pruned_at = now
        return len(counts)

    async def start(self) -> None:
        await self._flusher.start()

    async def stop(self) -> None:
        """Stop the task, then write what is still pending (requests have stopped by now)."""
        await self._flusher.stop()
        try:
            await self.flush()
        except Exception:
            log.exception("refusal counts lost at shutdown", extra={"refusals": self.pending})
