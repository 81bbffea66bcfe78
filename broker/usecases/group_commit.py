"""Group commit: submissions that arrive together are stored in one transaction.

A commit costs about a millisecond of client CPU and a round trip or two, whatever it holds; a row inside
one costs a few dozen microseconds. So each request does its own checks (parse, schema, signature) and then
hands its verified document to this writer and waits; the writer takes everything queued (up to
``max_batch``), applies the registry and idempotency rules and stores it in one transaction, and answers
each request. Batches form by themselves: what arrives while one batch commits is the next batch, so a lone
request waits for no timer. Under load the writer lingers a few milliseconds before it takes the next batch
(``linger_s``, as PostgreSQL's ``commit_delay`` waits for siblings): every batch has fixed costs in the
broker, PostgreSQL, RabbitMQ and the consumers, and on a busy machine larger batches leave more of it for
messages. Measured in ``bench/README.md``; a batch that held one submission (the load is low) is followed by
no wait.

The rules are those of ``storing.store_submissions``, the same code a lone submission goes through. When a
batch fails on a constraint (another broker process stored the same message id in between) or on anything
else, its submissions are stored again one by one, each in its own transaction, so one bad submission can
never fail the others and every answer is the one a lone submission would have had.

On PostgreSQL the writer works on a kept autocommit connection (``KeptConnections``, shared with the relay):
a batch pays no pool checkout, no liveness ping and no BEGIN or COMMIT round trip. It reads the registry
and the stored ids (two statements) and writes every message, history entry and outbox row in one
statement, which is its own transaction (``MessageRepository.add_many``). A batch that fails drops its
connection; the next takes a fresh one. On SQLite the store's trip also reads the registry's change counter
and stores nothing when it has moved since the cached answers the batch was checked against
(``RegistryMoved``): the writer reads the registry again and stores the batch again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Protocol

from broker import outage_log
from broker.domain.errors import queue_unavailable, store_unavailable
from broker.periodic import cancel_and_wait, until_tick
from broker.store.kept_connections import KeptConnections
from broker.store.outages import is_store_outage, note_store_outage
from broker.store.outbox_repository import ClaimedRow
from broker.store.registry_cache import RegistryCache
from broker.store.registry_version import RegistryMoved
from broker.usecases.storing import AfterCommit, StoredBatch, StoreEach, store_submissions
from broker.usecases.submissions import Outcome, Submission, SubmitResult, stored_units

log = logging.getLogger(__name__)

DEFAULT_MAX_BATCH = 256
# How often the outbox backlog is read: rarely while it is well below the mark, often near or above it.
BACKLOG_CHECK_S = 0.25
# Far below the mark (a quarter of it or less) once a second, or sooner once this process has stored enough
# rows to reach half the mark: at 20 msg/s the reading four times a second was 0.2 ms of the embedded broker's
# CPU per message, to learn that a backlog of a few rows was still a few rows.
BACKLOG_FAR_S = 1.0
# Each message stored writes this many outbox rows: its own and the sender's ``accepted`` receipt.
OUTBOX_ROWS_PER_MESSAGE = 2
# With nothing submitted to this process meanwhile, only other processes can grow the backlog, and the mark
# only holds back this process's own submissions: an idle broker reads it this seldom (a submission wakes it).
BACKLOG_IDLE_S = 5.0
BACKLOG_NEAR_S = 0.05
BACKLOG_WAIT_S = 0.01
PUBLISHING_CHECK_S = 0.5
# Stores of one batch that may find the registry changed since its cached answers before the batch is
# stored one by one instead (each reading the registry in its own transaction).
REGISTRY_MOVES = 3


class OutboxHandOver(Protocol):
    """The relay, taking outbox rows written already leased to it: no claim round trip."""

    @property
    def lease_owner(self) -> str:
        """The relay's name in the rows it leases (``leased_by``)."""
        ...

    def lease_until(self) -> datetime: ...

    def publish_leased(self, rows: Sequence[ClaimedRow]) -> None: ...

    def recover_lease(self, lease_until: datetime) -> None:
        """A batch written leased until ``lease_until`` met an outage: whether it committed is unknown, and
        rows it may have written are not in the relay's hands. Release them when the database answers."""
        ...


class GroupCommit:
    """One writer task per broker process; ``submit`` queues a submission and waits for its outcome.

    A ``SubmissionWriter``: the app factory chooses it (or ``StoreEach``) once."""

    def __init__(
        self,
        alone: StoreEach,
        connections: KeptConnections,
        ttl_s: int,
        after: AfterCommit,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        linger_s: float = 0.0,
        registry: RegistryCache | None = None,
        hand_over: OutboxHandOver | None = None,
        backlog: Callable[[], Awaitable[int]] | None = None,
        high_water: int = 0,
        publishing: Callable[[], bool] | None = None,
    ) -> None:
        self._alone = alone  # for a batch that failed, and after ``stop``
        # A batch runs on a kept autocommit connection on PostgreSQL (``KeptConnections``, shared with the relay).
        self._connections = connections
        self._ttl_s = ttl_s
        self._after = after
        # The registry as the batches read it: cached while PostgreSQL notifies changes (None: read each time).
        self._registry = registry
        # Where the outbox rows written leased go (the relay); None: the relay claims them.
        self._hand_over = hand_over
        self.max_batch = max(1, max_batch)
        self._linger_s = max(0.0, linger_s)
        self._last_batch = 0  # how many the last batch held: more than one means concurrent submitters
        self._full = asyncio.Event()  # set when the queue holds a whole batch: a lingering writer goes on
        # Flow control: while more than ``high_water`` outbox rows wait for the relay, the writer stores
        # nothing, so submissions wait (and closed-loop senders slow down) instead of the backlog, and with
        # it the time from submit to delivery, growing without bound when intake outruns publishing.
        self._backlog = backlog
        self.high_water = max(0, high_water)
        # Set while the last reading was at or below the mark; cleared until the first reading, so the first
        # batch waits for one. Read by a task of its own, never on the writer's path: a count on a busy
        # outbox took up to 39 ms, and every submission queued behind it waited as long.
        self._below_mark = asyncio.Event()
        self._above_mark = False
        # Whether the relay can publish now (the transport is connected). Above the mark and unable to publish,
        # the backlog cannot shrink: a submission is answered 503 at once instead of waiting with no end.
        self._publishing = publishing
        self._watcher: asyncio.Task[None] | None = None
        self.throttled_s = 0.0
        self._queue: deque[tuple[Submission, asyncio.Future[Outcome]]] = deque()
        self._wake = asyncio.Event()
        self._submitted = asyncio.Event()  # set by each submission: the backlog watcher's idle wait ends
        # Outbox rows this process may still store before the next reading is due (far below the mark), and
        # the event that wakes the watcher when they are used up.
        self._room = 0
        self._room_used = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.batches = 0
        self.stored = 0

    async def submit(self, submission: Submission) -> Outcome:
        if self._stopping:
            return await self._alone.submit(submission)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="group commit")
        if self._flow_control() and (self._watcher is None or self._watcher.done()):
            self._watcher = asyncio.get_running_loop().create_task(self._watch_backlog(), name="outbox backlog")
        if self._above_mark and not self._can_publish():
            raise queue_unavailable()
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.append((submission, future))
        self._wake.set()
        if len(self._queue) >= self.max_batch:
            self._full.set()
        self._submitted.set()
        # The future is this request's alone and the writer only completes it (when not done): a cancelled
        # request cancels its future and nothing else, and the batch it joined is stored and answered as
        # before. (A shield around it cost a loop turn and a future per submission.)
        return await future

    async def stop(self) -> None:
        """Store what is queued, then end the writer; later submissions are stored one by one."""
        self._stopping = True
        self._wake.set()
        self._full.set()
        self._submitted.set()
        self._below_mark.set()
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        watcher, self._watcher = self._watcher, None
        await cancel_and_wait(watcher)

    async def _run(self) -> None:
        while True:
            if not self._queue:
                if self._stopping:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            if not await self._wait_for_relay():
                self._refuse_queued(queue_unavailable())
                continue
            if self._linger_s and self._last_batch > 1:
                await self._linger()
            batch = [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]
            self._last_batch = len(batch)
            await self._settle(batch)

    async def _linger(self) -> None:
        """Let the submitters answered by the last batch come back before the next one is taken: at most
        ``linger_s``, less when a whole batch is queued or the writer stops."""
        if self._stopping or len(self._queue) >= self.max_batch:
            return
        self._full.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._linger_s):
                await self._full.wait()

    def _flow_control(self) -> bool:
        return self._backlog is not None and self.high_water > 0

    def _can_publish(self) -> bool:
        return self._publishing is None or self._publishing()

    async def _wait_for_relay(self) -> bool:
        """Wait while the backlog is above the mark; False when the relay cannot publish meanwhile."""
        if not self._flow_control() or self._stopping or self._below_mark.is_set():
            return True
        started = time.monotonic()
        try:
            while not self._below_mark.is_set():
                if self._above_mark and not self._can_publish():
                    return False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._below_mark.wait(), PUBLISHING_CHECK_S)
        finally:
            self.throttled_s += time.monotonic() - started
        return True

    def _refuse_queued(self, error: Exception) -> None:
        while self._queue:
            _, future = self._queue.popleft()
            if not future.done():
                future.set_exception(error)

    async def _watch_backlog(self) -> None:
        """Read the outbox backlog (the database's, shared with other processes, so polled) and open or
        close the gate the writer waits at."""
        assert self._backlog is not None
        while not self._stopping:
            self._submitted.clear()
            try:
                rows = await self._backlog()
            except Exception as exc:
                if not note_store_outage(exc):
                    log.warning("could not read the outbox backlog; storing without flow control", exc_info=True)
                rows = 0
            self._above_mark = rows > self.high_water
            # Set before the writer can run again: what it stores from now on counts against this reading.
            self._room = self.high_water // 2 - rows
            self._room_used.clear()
            if rows <= self.high_water:
                self._below_mark.set()
            else:
                self._below_mark.clear()
            if rows > self.high_water:
                await asyncio.sleep(BACKLOG_WAIT_S)  # the writer waits: open the gate as soon as there is room
            elif rows > self.high_water // 2:
                await asyncio.sleep(BACKLOG_NEAR_S)
            else:
                # Other processes' rows are seen only by reading, so the reading is still timed; this process's
                # own rows are counted, and reaching half the mark with them brings the next reading forward.
                pause_s = BACKLOG_FAR_S if rows <= self.high_water // 4 else BACKLOG_CHECK_S
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._room_used.wait(), until_tick(pause_s))
                if not self._room_used.is_set() and not self._submitted.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._submitted.wait(), until_tick(BACKLOG_IDLE_S))

    async def _settle(self, batch: list[tuple[Submission, asyncio.Future[Outcome]]]) -> None:
        submissions = [submission for submission, _ in batch]
        try:
            outcomes = await self._store(submissions)
        except Exception as exc:
            if note_store_outage(exc):
                # Stored one by one they would fail the same way: every request gets its 503 now.
                unavailable = store_unavailable()
                for _, future in batch:
                    if not future.done():
                        future.set_exception(unavailable)
                return
            if isinstance(exc, RegistryMoved):
                log.info("the registry kept changing under %d submissions; storing them one by one", len(batch))
            else:
                log.warning("group commit of %d submissions failed; storing them one by one", len(batch), exc_info=True)
            for submission, future in batch:
                try:
                    outcome = await self._alone.submit(submission)
                except Exception as exc:
                    if not future.done():
                        future.set_exception(exc)
                    continue
                if not future.done():
                    future.set_result(outcome)
            return
        outage_log.DATABASE.recovered()
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if not future.done():
                future.set_result(outcome)

    async def _transaction(
        self, submissions: list[Submission], hand_over: OutboxHandOver | None, lease_until: datetime | None
    ) -> StoredBatch:
        try:
            async with self._connections.unit_of_work() as uow:
                stored = await store_submissions(
                    uow,
                    submissions,
                    self._ttl_s,
                    lease_until=lease_until,
                    leased_by=hand_over.lease_owner if hand_over is not None else None,
                    registry=self._registry,
                )
                await uow.commit()
                return stored
        except Exception as exc:
            # The connection lost in the middle of the commit (a failover): the rows may be stored, leased to
            # the relay for 30 s, with nobody holding them. Released when the database answers, they go out
            # then instead of when the lease runs out (the soak's 30 s delays).
            if hand_over is not None and lease_until is not None and is_store_outage(exc):
                hand_over.recover_lease(lease_until)
            raise

    async def _store(self, submissions: list[Submission]) -> list[Outcome]:
        # The outbox rows are written leased to this process's relay and handed to it after the commit:
        # published without a claim (on SQLite at low rates the claim was a transaction per message).
        hand_over = self._hand_over if not self._stopping else None
        lease_until = hand_over.lease_until() if hand_over is not None else None
        stored = None
        for _ in range(REGISTRY_MOVES - 1):
            try:
                stored = await self._transaction(submissions, hand_over, lease_until)
                break
            except RegistryMoved:
                # Changed since the cached answers (an operator, another process): nothing was stored.
                assert self._registry is not None
                await self._registry.refresh()
        if stored is None:  # a registry that keeps moving: this try's RegistryMoved stores them one by one
            stored = await self._transaction(submissions, hand_over, lease_until)
        outcomes = stored.outcomes
        created = sum(1 for o in outcomes if isinstance(o, SubmitResult) and o.created)
        self.batches += 1
        self.stored += created
        if hand_over is not None and stored.leased:
            hand_over.publish_leased(stored.leased)
        elif created:
            self._after.outbox_written()
        if created:
            self._after.messages_stored(stored_units(submissions, outcomes))
            if self._flow_control():
                self._room -= OUTBOX_ROWS_PER_MESSAGE * created
                if self._room <= 0:
                    self._room_used.set()
        return outcomes
