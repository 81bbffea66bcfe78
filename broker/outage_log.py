"""One outage, a few log lines: the first failure, then a count now and then, then the recovery.

When the database or RabbitMQ goes away every request, batch and retry fails the same way; a line (and a
traceback) for each buried the log (over a hundred lines a second per process). An ``OutageLog`` per
service writes a warning for the first failure, at most one summary per ``summary_every_s`` while the
failures go on, and one line when something succeeds again, with how long it lasted and how many failed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("broker.outage")

SUMMARY_EVERY_S = 30.0


class OutageLog:
    def __init__(
        self,
        service: str,
        *,
        summary_every_s: float = SUMMARY_EVERY_S,
        quiet_before_end_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        self.summary_every_s = summary_every_s
        # A success ends the outage only this long after the last failure: where successes and failures
        # interleave (publishes to queues whose leaders are still being elected, beside ones that have one)
        # each success would otherwise end the outage and the next failure start it again, two lines a time.
        self.quiet_before_end_s = quiet_before_end_s
        self._clock = clock
        self._last_failure = 0.0
        self._since: float | None = None
        self._last_line = 0.0
        self._failures = 0
        self._unreported = 0

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def failed(self, description: str) -> None:
        """Something failed because the service is away; ``description`` names the cause, never data."""
        now = self._clock()
        self._failures += 1
        self._last_failure = now
        if self._since is None:
            self._since = self._last_line = now
            self._unreported = 0
            log.warning(
                "%s unavailable: %s", self.service, description, extra={"service": self.service, "outage": "started"}
            )
            return
        self._unreported += 1
        if now - self._last_line >= self.summary_every_s:
            log.warning(
                "%s still unavailable after %.0f s: %d more failures (last: %s)",
                self.service,
                now - self._since,
                self._unreported,
                description,
                extra={"service": self.service, "outage": "ongoing", "failures": self._failures},
            )
            self._last_line = now
            self._unreported = 0

    def recovered(self) -> None:
        """Something that needs the service succeeded; ends the outage, if there was one, with one line."""
        if self._since is None:
            return
        now = self._clock()
        if now - self._last_failure < self.quiet_before_end_s:
            return
        lasted = now - self._since
        log.warning(
            "%s available again after %.1f s (%d failures)",
            self.service,
            lasted,
            self._failures,
            extra={"service": self.service, "outage": "ended", "failures": self._failures, "seconds": round(lasted, 1)},
        )
        self._since = None
        self._failures = 0
        self._unreported = 0


# One per service and process, shared by everything that talks to it, so one outage is one story in the log.
DATABASE = OutageLog("database")
QUEUE = OutageLog("message queue")
# RabbitMQ up but refusing publishes (nacks: a quorum queue electing a new leader after a node was lost, a
# resource alarm): a story of its own, ended by a confirmed publish 2 s or more after the last refusal.
PUBLISHING = OutageLog("message queue publishing", quiet_before_end_s=2.0)
