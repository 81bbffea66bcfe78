"""Posting webhook deliveries: in order per subscription, with retries and back-off, leased across processes.

Every poll (or ``notify``) the dispatcher looks for subscriptions with a pending delivery, out of back-off and
not leased, and leases each it takes. A leased subscription is drained in order: its oldest pending delivery
is posted (a structured-mode CloudEvent, signed); a 2xx answer marks it delivered and the next one follows;
anything else counts an attempt and backs the whole subscription off (base × 2^attempts, capped, with
jitter), so a later event never overtakes an earlier one. After ``max_attempts`` the delivery is dead: it
leaves the line for the dead-letter list and the next one goes. The lease is renewed before every post, so
no two processes post to one subscription at the same time; a process that dies leaves its lease to expire.
A delivery whose 2xx was lost is posted again: receivers drop repeats by ``webhook-id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.events.webhook_endpoints import PublicOnlyResolver
from broker.events.webhook_signature import signed_headers
from broker.events.webhooks import DeliveryStatus, PendingDelivery
from broker.periodic import until_tick
from broker.routing.transport import CLOUDEVENTS_CONTENT_TYPE
from broker.store.outages import note_store_outage
from broker.store.webhook_repository import WebhookRepository

log = logging.getLogger(__name__)

USER_AGENT = "dsve-broker-webhooks/1"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class WebhookDispatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        allow_loopback: bool = False,
        max_attempts: int = 10,
        retry_base_s: float = 2.0,
        retry_max_s: float = 3600.0,
        timeout_s: float = 10.0,
        poll_interval_s: float = 1.0,
        lease_s: float = 60.0,
        concurrency: int = 16,
        batch_size: int = 50,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._engine = engine
        self._allow_loopback = allow_loopback
        self.max_attempts = max(1, max_attempts)
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.poll_interval_s = poll_interval_s
        self._lease = timedelta(seconds=max(lease_s, 2 * timeout_s))
        self._concurrency = max(1, concurrency)
        self.batch_size = max(1, batch_size)
        self._clock = clock
        self.owner = str(uuid.uuid4())
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._draining: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self.delivered_count = 0
        self._attempts = 0

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._open_session()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="webhook dispatcher")

    async def stop(self, grace_s: float = 5.0) -> None:
        """Let the posts in flight finish (up to ``grace_s``); a cut one is posted again after its lease."""
        self._stopping = True
        self._wake.set()
        tasks = [t for t in (self._task, *self._draining.values()) if t is not None]
        self._task = None
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace_s)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def notify(self) -> None:
        """Events were committed: look for deliveries now rather than at the next poll."""
        self._wake.set()

    async def run_once(self) -> int:
        """Drain every subscription that is due now, one after the other; returns the attempts made."""
        self._open_session()
        before = self._attempts
        async with self._engine.connect() as conn:
            due = await WebhookRepository(conn).due(self._clock(), self._concurrency)
        for subscription_id in due:
            if await self._take(subscription_id):
                await self._drain(subscription_id)
        return self._attempts - before

    def _open_session(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                resolver=PublicOnlyResolver(allow_loopback=self._allow_loopback), limit=self._concurrency
            )
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, headers={"User-Agent": USER_AGENT}
            )

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            self._wake.clear()
            try:
                await self._take_due()
                failures = 0
            except Exception as exc:
                failures += 1
                if not note_store_outage(exc):
                    log.exception("webhook dispatcher: looking for due deliveries failed")
            delay = until_tick(self.poll_interval_s * min(2**failures, 30))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def _take_due(self) -> None:
        room = self._concurrency - len(self._draining)
        if room <= 0:
            return
        async with self._engine.connect() as conn:
            due = await WebhookRepository(conn).due(self._clock(), room + len(self._draining))
        for subscription_id in due:
            if subscription_id in self._draining or len(self._draining) >= self._concurrency:
                continue
            if await self._take(subscription_id):
                task = asyncio.get_running_loop().create_task(self._drain(subscription_id))
                self._draining[subscription_id] = task
                task.add_done_callback(functools.partial(self._drained, subscription_id))

    def _drained(self, subscription_id: str, task: asyncio.Task[None]) -> None:
        self._draining.pop(subscription_id, None)
        error = None if task.cancelled() else task.exception()
        if error is not None and not note_store_outage(error):
            log.error("webhook delivery failed; retried after the lease", exc_info=error)
        self._wake.set()  # more may have become due meanwhile

    async def _take(self, subscription_id: str) -> bool:
        now = self._clock()
        async with self._engine.begin() as conn:
            return await WebhookRepository(conn).lease(subscription_id, self.owner, now, now + self._lease)

    async def _drain(self, subscription_id: str) -> None:
        """Post the subscription's pending deliveries in order, a batch read at a time; the deliveries that
        succeeded are recorded together (after the batch, or before a failure is), so a crash in between
        posts them again: a repeat, never a loss."""
        retry_at: datetime | None = None
        try:
            while not self._stopping:
                async with self._engine.begin() as conn:
                    repository = WebhookRepository(conn)
                    now = self._clock()
                    if not await repository.lease(subscription_id, self.owner, now, now + self._lease):
                        return  # the lease was lost (this process stalled): another process has it now
                    batch = await repository.next_pending(subscription_id, self.batch_size)
                if not batch:
                    return
                retry_at = await self._post_in_order(subscription_id, batch)
                if retry_at is not None:
                    return
        finally:
            with contextlib.suppress(Exception):
                async with self._engine.begin() as conn:
                    await WebhookRepository(conn).release(subscription_id, self.owner, retry_at)

    async def _post_in_order(self, subscription_id: str, batch: list[PendingDelivery]) -> datetime | None:
        """Post a batch until one fails; returns when to try again (None: go on with the next batch)."""
        delivered: list[int] = []
        renewed = time.monotonic()
        try:
            for pending in batch:
                if self._stopping:
                    return None
                if time.monotonic() - renewed > self._lease.total_seconds() / 3:
                    if not await self._take(subscription_id):
                        return None  # lost to another process: it carries on from what is recorded
                    renewed = time.monotonic()
                error = await self._post(pending)
                self._attempts += 1
                if error is None:
                    delivered.append(pending.id)
                    self.delivered_count += 1
                    continue
                attempts = pending.attempts + 1
                now = self._clock()
                dead = attempts >= self.max_attempts
                async with self._engine.begin() as conn:
                    repository = WebhookRepository(conn)
                    await repository.delivered(delivered, now)
                    delivered = []
                    status = DeliveryStatus.DEAD if dead else DeliveryStatus.PENDING
                    await repository.finish(pending.id, status, attempts, error, now if dead else None)
                if not dead:
                    return now + timedelta(seconds=self._backoff(attempts))
                log.warning(
                    "webhook delivery dead-lettered",
                    extra={"subscription": subscription_id, "event": pending.event.id, "error": error},
                )
            return None
        finally:
            if delivered:
                async with self._engine.begin() as conn:
                    await WebhookRepository(conn).delivered(delivered, self._clock())

    async def _post(self, pending: PendingDelivery) -> str | None:
        """Post one delivery; None when the endpoint took it (2xx), else what went wrong."""
        assert self._session is not None
        body = json.dumps(pending.event.cloud_event(), separators=(",", ":")).encode()
        headers = {
            "Content-Type": CLOUDEVENTS_CONTENT_TYPE,
            **signed_headers(pending.secret, pending.event.id, int(time.time()), body),
        }
        try:
            async with self._session.post(
                pending.endpoint, data=body, headers=headers, allow_redirects=False
            ) as response:
                if 200 <= response.status < 300:
                    return None
                return f"HTTP {response.status}"
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    def _backoff(self, attempts: int) -> float:
        ceiling = min(self.retry_max_s, self.retry_base_s * 2 ** max(0, attempts - 1))
        return float(ceiling * random.uniform(0.5, 1.0))
