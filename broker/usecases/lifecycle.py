"""The lifecycle: messages not confirmed within their time-to-live expire; content is purged after retention.

Both are conditional moves in the store (history row with time and actor, receipt to the sender), so
several broker processes may run this loop against one database: a message moves once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from broker.periodic import Periodic
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.file_transfers.lifecycle import run_transfer_lifecycle_once
from broker.usecases.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LifecyclePass:
    expired: int
    purged: int
    transfers_failed: int = 0  # file transfers whose upload stalled
    transfers_purged: int = 0  # file transfers expired, or confirmed by all and past their grace period


async def run_lifecycle_once(services: Services) -> LifecyclePass:
    """Expire what is due, then purge content older than the retention period."""
    now = services.clock()
    cutoff = now - timedelta(seconds=services.settings.retention_s)
    async with UnitOfWork(services.engine) as uow:
        expired = await uow.statuses.expire_due(now)
        purged = await uow.statuses.purge_due(cutoff, now)
        await uow.commit()
    transfers = await run_transfer_lifecycle_once(services)
    done = LifecyclePass(len(expired), len(purged), transfers.failed, transfers.purged)
    if done.expired or done.purged:
        services.outbox_written()
    if done.expired or done.purged or done.transfers_failed or done.transfers_purged:
        log.info(
            "lifecycle pass",
            extra={
                "expired": done.expired,
                "purged": done.purged,
                "transfers_failed": done.transfers_failed,
                "transfers_purged": done.transfers_purged,
            },
        )
    return done


class LifecycleTask(Periodic):
    """Runs ``run_lifecycle_once`` every ``interval_s`` until stopped; a failing pass is logged and retried."""

    def __init__(self, services: Services, interval_s: float) -> None:
        super().__init__(
            "message lifecycle",
            interval_s,
            lambda: run_lifecycle_once(services),
            immediately=True,
            failure="lifecycle pass failed",
        )
