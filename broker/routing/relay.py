"""The outbox relay: publishes what the broker committed, and marks it published only after the confirm.

Rows are claimed with a lease in a short transaction (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: a
conditional UPDATE on ``lease_until``), so several broker processes share one outbox without publishing a
row twice while its lease holds. A crash anywhere leaves the row unpublished; its lease expires and some
relay publishes it again: a duplicate at worst, which consumers drop by message id, never a loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from broker.domain.lifecycle import MessageStatus
from broker.routing.status_moves import MESSAGE_KIND, RELAY_ACTOR, move_status, utcnow
from broker.routing.transport import (
    JSON_CONTENT_TYPE,
    XML_CONTENT_TYPE,
    OutgoingMessage,
    PublishError,
    Transport,
    routing_headers,
)
from broker.store import tables

log = logging.getLogger(__name__)

FROM_ACCEPTED = frozenset({MessageStatus.ACCEPTED})


@dataclass(frozen=True, slots=True)
class _Claimed:
    outbox_id: int
    kind: str
    attempts: int
    outgoing: OutgoingMessage | None  # None: the message's content was purged before it could be published


class OutboxRelay:
    """Publishes outbox rows in batches; ``notify()`` after a commit wakes it at once, polling is the safety net."""

    def __init__(
        self,
        engine: AsyncEngine,
        transport: Transport,
        *,
        batch_size: int = 200,
        lease_s: float = 30.0,
        poll_interval_s: float = 1.0,
        retry_base_s: float = 0.2,
        retry_max_s: float = 10.0,
        workers: int = 2,
    ) -> None:
        self._engine = engine
        self._transport = transport
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_s)
        self.poll_interval_s = poll_interval_s
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self._skip_locked = engine.dialect.name == "postgresql"
        self._wake = asyncio.Event()
        self.workers = max(1, workers)
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._ensured: set[str] = set()
        self.published_count = 0

    async def start(self) -> None:
        """Start the workers: each claims and publishes its own batches, so confirms of several are in flight."""
        if not self._tasks:
            self._stopping = False
            loop = asyncio.get_running_loop()
            self._tasks = [loop.create_task(self._run(), name=f"outbox relay {n}") for n in range(self.workers)]

    async def stop(self, grace_s: float = 5.0) -> None:
        """Let the batch in hand finish (up to ``grace_s``); an interrupted batch is retried after its lease."""
        tasks, self._tasks = self._tasks, []
        if not tasks:
            return
        self._stopping = True
        self._wake.set()
        _, pending = await asyncio.wait(tasks, timeout=grace_s)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def notify(self) -> None:
        """Something was committed to the outbox: publish it now rather than at the next poll."""
        self._wake.set()

    async def backlog(self) -> int:
        """Outbox rows not yet published (for metrics and readiness)."""
        async with self._engine.connect() as conn:
            count = await conn.scalar(
                sa.select(sa.func.count()).select_from(tables.outbox).where(tables.outbox.c.published_at.is_(None))
            )
        return int(count or 0)

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            self._wake.clear()
            try:
                claimed = await self.run_once()
                failures = 0
            except Exception:
                failures += 1
                delay = self._backoff(failures)
                log.exception("outbox relay pass failed; retrying in %.2f s", delay)
                await asyncio.sleep(delay)
                continue
            if claimed:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval_s)

    async def run_once(self) -> int:
        """Claim, publish and settle one batch; return how many rows were claimed."""
        batch = await self._claim()
        if not batch:
            return 0
        publishable = [c for c in batch if c.outgoing is not None]
        await self._ensure_queues(publishable)
        failed: dict[int, str] = {}
        try:
            await self._transport.publish([c.outgoing for c in publishable if c.outgoing is not None])
        except PublishError as exc:
            failed = exc.failed
        except Exception as exc:
            failed = dict.fromkeys(range(len(publishable)), repr(exc))
        failed_rows = [publishable[i] for i in failed]
        done = [c for i, c in enumerate(publishable) if i not in failed]
        done += [c for c in batch if c.outgoing is None]
        await self._settle(done, failed_rows)
        self.published_count += len(done)
        if failed:
            log.warning(
                "outbox relay: %d of %d not confirmed: %s", len(failed), len(batch), next(iter(failed.values()))
            )
        return len(batch)

    async def _claim(self) -> list[_Claimed]:
        outbox = tables.outbox
        now = utcnow()
        pending = sa.and_(
            outbox.c.published_at.is_(None), sa.or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now)
        )
        async with self._engine.begin() as conn:
            if self._skip_locked:
                ids = list(
                    await conn.scalars(
                        sa.select(outbox.c.id)
                        .where(pending)
                        .order_by(outbox.c.id)
                        .limit(self.batch_size)
                        .with_for_update(skip_locked=True)
                    )
                )
                if ids:
                    await conn.execute(
                        sa.update(outbox)
                        .where(outbox.c.id.in_(ids))
                        .values(lease_until=now + self.lease, attempts=outbox.c.attempts + 1)
                    )
            else:
                candidates = sa.select(outbox.c.id).where(pending).order_by(outbox.c.id).limit(self.batch_size)
                result = await conn.execute(
                    sa.update(outbox)
                    .where(outbox.c.id.in_(candidates.scalar_subquery()), pending)
                    .values(lease_until=now + self.lease, attempts=outbox.c.attempts + 1)
                    .returning(outbox.c.id)
                )
                ids = [row.id for row in result]
            if not ids:
                return []
            return await self._load(conn, ids)

    async def _load(self, conn: AsyncConnection, ids: Sequence[int]) -> list[_Claimed]:
        outbox, messages = tables.outbox, tables.messages
        rows = await conn.execute(
            sa.select(
                outbox,
                messages.c.content,
                messages.c.message_type,
                messages.c.sender,
                messages.c.recipient,
                messages.c.sender_reference,
                messages.c.recipient_reference,
            )
            .select_from(outbox.outerjoin(messages, messages.c.id == outbox.c.message_id))
            .where(outbox.c.id.in_(list(ids)))
            .order_by(outbox.c.id)
        )
        return [_Claimed(row.id, row.kind, row.attempts, _outgoing(row)) for row in rows]

    async def _ensure_queues(self, batch: Sequence[_Claimed]) -> None:
        """Declare each addressee's queues once per relay, so a publish is unroutable only on a real fault."""
        for claimed in batch:
            assert claimed.outgoing is not None
            orgnr = claimed.outgoing.routing_key.split(".", 1)[0]
            if orgnr not in self._ensured:
                await self._transport.ensure_participant(orgnr)
                self._ensured.add(orgnr)

    async def _settle(self, done: Sequence[_Claimed], failed: Sequence[_Claimed]) -> None:
        outbox = tables.outbox
        now = utcnow()
        async with self._engine.begin() as conn:
            if done:
                await conn.execute(
                    sa.update(outbox)
                    .where(outbox.c.id.in_([c.outbox_id for c in done]), outbox.c.published_at.is_(None))
                    .values(published_at=now, lease_until=None)
                )
                published = [c.outgoing.message_id for c in done if c.kind == MESSAGE_KIND and c.outgoing]
                await move_status(
                    conn, published, MessageStatus.PUBLISHED, actor=RELAY_ACTOR, at=now, only_from=FROM_ACCEPTED
                )
            for claimed in failed:
                # The lease becomes the row's backoff, so every relay waits before trying it again.
                retry_at = now + timedelta(seconds=self._backoff(claimed.attempts))
                await conn.execute(
                    sa.update(outbox)
                    .where(outbox.c.id == claimed.outbox_id, outbox.c.published_at.is_(None))
                    .values(lease_until=retry_at)
                )

    def _backoff(self, attempts: int) -> float:
        ceiling = min(self.retry_max_s, self.retry_base_s * 2 ** max(0, attempts - 1))
        return ceiling * random.uniform(0.5, 1.0)


def _outgoing(row: sa.Row) -> OutgoingMessage | None:
    headers = {str(k): str(v) for k, v in (row.headers or {}).items()}
    if row.kind == MESSAGE_KIND:
        if row.content is None:
            log.warning("message %s was purged before it was published; skipping it", row.message_id)
            return None
        routed = routing_headers(
            row.message_type, row.sender, row.recipient, row.sender_reference, row.recipient_reference
        )
        return OutgoingMessage(
            exchange="messages",
            routing_key=row.routing_key,
            body=bytes(row.content),
            message_id=row.message_id,
            headers={**routed, **headers},
            content_type=XML_CONTENT_TYPE,
        )
    return OutgoingMessage(
        exchange="events",
        routing_key=row.routing_key,
        body=bytes(row.body or b""),
        message_id=row.message_id,
        headers=headers,
        content_type=JSON_CONTENT_TYPE,
    )
