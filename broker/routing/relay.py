"""The outbox relay: publishes what the broker committed, and marks it published only after the confirm.

A pipeline of three stages: **claim** a batch of outbox rows under a lease (``OutboxQueue.claim``; the
group commit also hands its rows over already leased, without a claim), **publish** its messages with all
confirms in flight (``relay_publish``) and record them as published the moment the confirms arrive, and
**settle** (``relay_settle``): publish the receipts the recorded batches owe and mark their rows published
in one statement. One loop claims while up to ``workers`` batches are being published, confirmed and
recorded; recorded batches go to the settle stage's flusher.
A crash anywhere leaves rows unsettled until their lease runs out, or until the other relays see that
this one stopped beating (``relay_liveness``, about 3 s); a row whose publish was recorded is then settled
without being published again, so only a crash between a confirm and its record publishes a message twice.
Never a loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from broker import outage_log
from broker.domain.clock import utc_now
from broker.periodic import until_tick
from broker.routing.relay_liveness import RelayLiveness
from broker.routing.relay_publish import Published, Publisher
from broker.routing.relay_settle import Settler
from broker.routing.transport import Transport
from broker.store.outages import note_store_outage
from broker.store.outbox_queue import OutboxQueue
from broker.store.outbox_repository import ClaimedRow
from broker.store.relay_heartbeats import RelayHeartbeats

log = logging.getLogger(__name__)

TRANSPORT_WAIT_S = 0.2


class OutboxRelay:
    """Publishes outbox rows in batches; ``notify()`` after a commit wakes it at once, polling is the safety net."""

    def __init__(
        self,
        outbox: OutboxQueue,
        transport: Transport,
        *,
        batch_size: int = 200,
        lease_s: float = 30.0,
        poll_interval_s: float = 1.0,
        retry_base_s: float = 0.2,
        # A quorum queue nacks publishes while it elects a new leader (a node lost): a batch nacked six or
        # seven times in a row waited up to 10 s per retry, 20 s in all (the soak, bench/README.md); at 2 s
        # the batch goes out within 2 s of the election, for one publish attempt per 2 s while a fault lasts.
        retry_max_s: float = 2.0,
        workers: int = 4,
        # How long the settle waits for more batches when few wait: at low rates each settle (receipts
        # published, one statement) served one message at 20 ms; at 100 ms one serves two at 20 msg/s and
        # about ten at 100 msg/s (side by side at 20 msg/s: 9.43 → 8.20 and 9.80 → 8.42 ms of broker CPU per
        # message). It delays only the receipts and the rows' settle, never a message's delivery.
        settle_linger_s: float = 0.1,
        heartbeats: RelayHeartbeats | None = None,
    ) -> None:
        self._outbox = outbox
        self._transport = transport
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_s)
        self.poll_interval_s = poll_interval_s
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self.workers = max(1, workers)  # batches in flight at once (published, waiting for confirms)
        self._publisher = Publisher(transport, outbox.owner)
        self._settler = Settler(
            outbox,
            self._publisher,
            backoff=self._backoff,
            wake_relay=self.notify,
            linger_s=settle_linger_s,
            batch_size=batch_size,
        )
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._holding_slot: set[asyncio.Task[None]] = set()  # claimed batches until their confirms arrive
        self._slots = asyncio.Semaphore(self.workers)
        self._stopping = False
        # Beats for this relay and takes over the rows of relays that stopped beating (several processes).
        self._liveness = RelayLiveness(heartbeats, self.notify) if heartbeats is not None else None

    @property
    def published_count(self) -> int:
        return self._settler.published_count

    async def start(self) -> None:
        """Start the claim loop and the settle stage; each claimed batch is published in a task of its own."""
        if self._task is None:
            self._stopping = False
            self._outbox.open()
            if self._liveness is not None:
                await self._liveness.start()
            self._settler.start()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox relay")

    async def stop(self, grace_s: float = 5.0) -> None:
        """Let the batches in hand finish (up to ``grace_s``); an interrupted batch is retried after its lease."""
        task, self._task = self._task, None
        if task is None:
            await self._outbox.close()
            return
        self._stopping = True
        self._wake.set()
        _, pending = await asyncio.wait([task, *self._in_flight], timeout=grace_s)
        if self._in_flight and not pending:
            _, pending = await asyncio.wait(list(self._in_flight), timeout=grace_s)
        for left in pending:
            left.cancel()
        for left in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await left
        await self._settler.stop(grace_s)  # settles what the batches left
        if self._liveness is not None:
            await self._liveness.stop()  # and releases what is still leased to it, for the others to take now
        await self._outbox.close()

    def notify(self) -> None:
        """Something was committed to the outbox: publish it now rather than at the next poll."""
        self._wake.set()

    @property
    def lease_owner(self) -> str:
        """This relay's name in ``leased_by`` of the rows it holds."""
        return self._outbox.owner

    def lease_until(self) -> datetime:
        """The lease to write new outbox rows with when they are handed straight to this relay."""
        return utc_now() + self.lease

    def publish_leased(self, rows: Sequence[ClaimedRow]) -> None:
        """Publish rows the group commit wrote already leased to this relay, without claiming them.

        Not running (or stopping): they are left to their lease, after which any relay claims them."""
        if self._task is None or self._stopping or not rows:
            return
        task = asyncio.get_running_loop().create_task(self._deliver_handed_over(list(rows)))
        self._in_flight.add(task)
        task.add_done_callback(self._handed_over_done)

    def recover_lease(self, lease_until: datetime) -> None:
        """Release the rows a group commit may have written leased until ``lease_until`` before its outage
        (``GroupCommit``), as soon as the database answers; then claim them. Given up once the lease ran out:
        any relay claims them then."""
        task = asyncio.get_running_loop().create_task(self._release_when_back(lease_until))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _release_when_back(self, lease_until: datetime) -> None:
        attempts = 0
        while not self._stopping and utc_now() < lease_until:
            try:
                released = await self._outbox.release_lease(lease_until)
            except Exception as exc:
                if not note_store_outage(exc):
                    log.exception("outbox relay: could not release a failed batch's rows; they wait for the lease")
                    return
                attempts += 1
                await asyncio.sleep(self._backoff(attempts))
                continue
            if released:
                log.info("outbox relay: %d rows of a batch stored during an outage released", released)
                self.notify()
            return

    async def _deliver_handed_over(self, batch: list[ClaimedRow]) -> None:
        async with self._slots:
            published = await self._publisher.publish_messages(batch)
        await self._record(published)

    def _handed_over_done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None and not note_store_outage(error):
            log.error("outbox relay: handed-over batch failed; retried after the lease", exc_info=error)

    async def backlog(self) -> int:
        """Outbox rows not yet published (flow control, metrics, readiness)."""
        return await self._outbox.backlog()

    async def claim(self) -> list[ClaimedRow]:
        """Lease the next batch to this relay."""
        now = utc_now()
        return await self._outbox.claim(self.batch_size, now, now + self.lease)

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            if not self._transport.healthy():
                # Claiming now would only fail every batch and push its rows back: wait for the connection.
                await asyncio.sleep(TRANSPORT_WAIT_S)
                continue
            self._wake.clear()
            await self._slots.acquire()
            try:
                batch = await self.claim()
                failures = 0
                outage_log.DATABASE.recovered()
            except Exception as exc:
                self._slots.release()
                failures += 1
                delay = self._backoff(failures)
                if not note_store_outage(exc):
                    log.exception("outbox relay claim failed; retrying in %.2f s", delay)
                await asyncio.sleep(delay)
                continue
            if batch:
                task = asyncio.get_running_loop().create_task(self._deliver_claimed(batch))
                self._in_flight.add(task)
                self._holding_slot.add(task)
                task.add_done_callback(self._delivered)
            else:
                self._slots.release()
            if len(batch) >= self.batch_size:
                continue  # more is waiting: claim the next batch while this one is published
            # The wake flag was cleared before the claim, so a commit since then has set it again.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), until_tick(self.poll_interval_s))

    def _free_slot(self, task: asyncio.Task[None] | None) -> None:
        if task in self._holding_slot:
            self._holding_slot.discard(task)
            self._slots.release()

    def _delivered(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._free_slot(task)  # cancelled before it ran (or failed before it freed the slot)
        error = None if task.cancelled() else task.exception()
        if error is not None and not note_store_outage(error):
            log.error("outbox relay batch failed; its rows are retried after the lease", exc_info=error)

    async def run_once(self) -> int:
        """Claim, publish and settle one batch; return how many rows were claimed.

        The receipts the settle enqueues are left for the next pass, as rows any relay may claim.
        """
        batch = await self.claim()
        if batch:
            await self._settler.settle([await self._publisher.publish_messages(batch)])
        return len(batch)

    async def _deliver_claimed(self, batch: Sequence[ClaimedRow]) -> None:
        try:
            published = await self._publisher.publish_messages(batch)
        finally:
            self._free_slot(asyncio.current_task())
        await self._record(published)

    async def _record(self, published: Published) -> None:
        """Record a batch whose confirms arrived (its slot freed: the next batch is published meanwhile); its
        receipts and settle follow in the settle stage (at once when that stage is not running)."""
        if not self._settler.running:
            await self._settler.settle([published])
        elif self._transport.survives_restart:
            await self._settler.record(published)
        else:
            self._settler.defer(published)

    def _backoff(self, attempts: int) -> float:
        ceiling = min(self.retry_max_s, self.retry_base_s * 2.0 ** min(max(0, attempts - 1), 30))
        return ceiling * random.uniform(0.5, 1.0)
