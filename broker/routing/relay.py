"""The outbox relay: publishes what the broker committed, and marks it published only after the confirm.

Rows are claimed with a lease in a short transaction (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: a
conditional UPDATE on ``lease_until``), so several broker processes share one outbox without publishing a
row twice while its lease holds. A crash anywhere leaves the row unpublished; its lease expires and some
relay publishes it again: a duplicate at worst, which consumers drop by message id, never a loss.

The running relay is a pipeline: one loop claims a batch and hands it to a task that publishes its messages
and waits for their confirms, while the loop already claims the next (up to ``workers`` batches in flight;
on PostgreSQL the group commit hands its rows over leased, without a claim). Confirmed batches go to the
flusher, which takes every batch confirmed meanwhile (lingering up to ``settle_linger_s`` when few wait),
publishes the receipts they owe (their event rows, such as ``accepted``, and the ``published`` receipts of
their messages) as receipt batches, one events message per sender and status, waits for those confirms,
and only then settles them all in one statement (marks the rows published, records the status changes).
A crash in between leaves the rows unsettled: they are published again after their lease, a duplicate at
worst, and no receipt is ever lost. A receipt that could not be published is enqueued by the settle, in the
same transaction, as an outbox row leased to this relay, which publishes it with the next flush (a crash
leaves it to expire and be claimed like any other row). On PostgreSQL the claim and the settle are one
statement each (data-modifying CTEs), run on connections the relay keeps open, and no receipt rows are
written when RabbitMQ confirms the receipts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from broker import outage_log
from broker.domain.clock import utc_now
from broker.domain.lifecycle import MessageStatus
from broker.routing.receipt_batches import HEADER_STATUS, coalesce, receipt_message
from broker.routing.transport import (
    CLOUDEVENTS_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    XML_CONTENT_TYPE,
    OutgoingMessage,
    PublishError,
    Transport,
    routing_headers,
)
from broker.store import tables
from broker.store.outages import note_store_outage
from broker.store.outbox_kind import OutboxKind
from broker.store.status_moves import StatusMoves, receipt_entry

log = logging.getLogger(__name__)

_IDLE_CONNECTIONS = 4
TRANSPORT_WAIT_S = 0.2
# Failure reasons that mean the connection or channel went away, not that RabbitMQ refused the message.
_CONNECTION_SIGNS = ("ChannelInvalidState", "Connection", "ChannelClosed", "not confirmed within", "RuntimeError")

_RESULT_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "headers": sa.JSON(),
    "body": sa.LargeBinary(),
    "content": sa.LargeBinary(),
}

# Claim: lease the oldest unleased rows nobody else holds, and read what publishing them needs, in one statement.
_PG_CLAIM = sa.text(
    """
    WITH candidates AS (
        SELECT id FROM outbox
        WHERE published_at IS NULL AND (lease_until IS NULL OR lease_until < :now)
        ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE outbox AS o SET lease_until = :lease_until, attempts = o.attempts + 1
        FROM candidates WHERE o.id = candidates.id
        RETURNING o.id, o.kind, o.message_id, o.routing_key, o.headers, o.body, o.attempts
    )
    SELECT claimed.*, m.content, m.message_type, m.sender, m.recipient, m.sender_reference, m.recipient_reference
    FROM claimed LEFT JOIN messages AS m ON m.id = claimed.message_id
    ORDER BY claimed.id
    """
).columns(**_RESULT_TYPES)


@dataclass(frozen=True, slots=True)
class _Published:
    """A batch after its messages' publish: confirmed, failed, its event rows (receipts not yet published)
    and the rows whose message was purged before it could be published."""

    done: list[_Claimed]
    failed: list[_Claimed]
    events: list[_Claimed]
    purged: list[_Claimed]


@dataclass(frozen=True, slots=True)
class _Claimed:
    outbox_id: int
    kind: str
    attempts: int
    outgoing: OutgoingMessage | None  # None: the message's content was purged before it could be published
    sender: str | None = None  # a message row's sender, who is owed the ``published`` receipt


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
        workers: int = 4,
        settle_linger_s: float = 0.02,
    ) -> None:
        self._engine = engine
        self._transport = transport
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_s)
        self.poll_interval_s = poll_interval_s
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self._postgres = engine.dialect.name == "postgresql"
        self._wake = asyncio.Event()
        self.workers = max(1, workers)  # batches in flight at once (published, waiting for confirms, settling)
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(self.workers)
        self._stopping = False
        self._ensured: set[str] = set()
        self._idle: list[AsyncConnection] = []
        self.published_count = 0
        # Batches whose messages are confirmed, waiting for the flusher to publish their receipts and settle them.
        self.settle_linger_s = settle_linger_s
        self._unsettled: list[_Published] = []
        self._flush_wake = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the claim loop; each claimed batch is published and settled in a task of its own."""
        if self._task is None:
            self._stopping = False
            self._stop_requested.clear()
            loop = asyncio.get_running_loop()
            self._flusher = loop.create_task(self._flush_loop(), name="outbox relay settle")
            self._task = loop.create_task(self._run(), name="outbox relay")

    async def stop(self, grace_s: float = 5.0) -> None:
        """Let the batches in hand finish (up to ``grace_s``); an interrupted batch is retried after its lease."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._stop_requested.set()
        self._wake.set()
        _, pending = await asyncio.wait([task, *self._in_flight], timeout=grace_s)
        if self._in_flight and not pending:
            _, pending = await asyncio.wait(list(self._in_flight), timeout=grace_s)
        flusher, self._flusher = self._flusher, None
        if flusher is not None:
            self._flush_wake.set()  # the flusher settles what the batches left and ends
            _, unfinished = await asyncio.wait([flusher], timeout=grace_s)
            pending |= unfinished
        for left in pending:
            left.cancel()
        for left in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await left
        idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                await conn.close()

    def notify(self) -> None:
        """Something was committed to the outbox: publish it now rather than at the next poll."""
        self._wake.set()

    def lease_until(self) -> datetime:
        """The lease to write new outbox rows with when they are handed straight to this relay."""
        return utc_now() + self.lease

    def publish_leased(self, rows: Sequence[Any]) -> None:
        """Publish rows the group commit wrote already leased to this relay, without claiming them.

        Not running (or stopping): they are left to their lease, after which any relay claims them."""
        if self._task is None or self._stopping or not rows:
            return
        batch = [_claimed(row) for row in rows]
        task = asyncio.get_running_loop().create_task(self._deliver_handed_over(batch))
        self._in_flight.add(task)
        task.add_done_callback(self._handed_over_done)

    async def _deliver_handed_over(self, batch: list[_Claimed]) -> None:
        async with self._slots:
            await self._deliver(batch, receipts_at_once=True)

    def _handed_over_done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None and not note_store_outage(error):
            log.error("outbox relay: handed-over batch failed; retried after the lease", exc_info=error)

    async def backlog(self) -> int:
        """Outbox rows not yet published (for flow control, metrics and readiness).

        Flow control reads it up to 100 times a second under load: on PostgreSQL it takes a kept autocommit
        connection (one round trip) rather than a pooled one (a ping, BEGIN, the count and ROLLBACK)."""
        query = sa.select(sa.func.count()).select_from(tables.outbox).where(tables.outbox.c.published_at.is_(None))
        if self._postgres:
            async with self._connection() as conn:
                return int(await conn.scalar(query) or 0)
        async with self._engine.connect() as conn:
            return int(await conn.scalar(query) or 0)

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
                batch = await self._claim()
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
                task = asyncio.get_running_loop().create_task(self._deliver(batch, receipts_at_once=True))
                self._in_flight.add(task)
                task.add_done_callback(self._delivered)
            else:
                self._slots.release()
            if len(batch) >= self.batch_size:
                continue  # more is waiting: claim the next batch while this one is published
            # The wake flag was cleared before the claim, so a commit since then has set it again.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval_s)

    def _delivered(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slots.release()
        error = None if task.cancelled() else task.exception()
        if error is not None and not note_store_outage(error):
            log.error("outbox relay batch failed; its rows are retried after the lease", exc_info=error)

    async def run_once(self) -> int:
        """Claim, publish and settle one batch; return how many rows were claimed.

        The receipts the settle enqueues are left for the next pass, as rows any relay may claim.
        """
        batch = await self._claim()
        if batch:
            await self._deliver(batch, receipts_at_once=False)
        return len(batch)

    async def _deliver(self, batch: Sequence[_Claimed], *, receipts_at_once: bool) -> None:
        """Publish a claimed batch's messages and wait for their confirms; then its receipts and the settle.

        While the relay runs (``receipts_at_once``), the receipts and the settle go to the flusher, which
        joins those of every batch confirmed meanwhile (waiting up to ``settle_linger_s`` for more when few
        are waiting) into one publish of receipt batches and one settle statement. Otherwise they are done
        here; either way the receipts the settle enqueues are left for the next claim."""
        published = await self._publish_messages(batch)
        if receipts_at_once and self._flusher is not None and not self._flusher.done():
            self._unsettled.append(published)
            self._flush_wake.set()
            return
        await self._receipt_and_settle([published])

    async def _publish_messages(self, batch: Sequence[_Claimed]) -> _Published:
        messages = [c for c in batch if c.kind == OutboxKind.MESSAGE and c.outgoing is not None]
        events = [c for c in batch if c.kind != OutboxKind.MESSAGE and c.outgoing is not None]
        purged = [c for c in batch if c.outgoing is None]
        outgoing = [c.outgoing for c in messages if c.outgoing is not None]
        await self._ensure_queues(outgoing)
        failed: dict[int, str] = {}
        if messages:
            try:
                await self._transport.publish(outgoing)
            except PublishError as exc:
                failed = exc.failed
            except Exception as exc:
                failed = dict.fromkeys(range(len(messages)), repr(exc))
        if failed:
            self._report_unconfirmed(f"{len(failed)} of {len(messages)} not confirmed: {next(iter(failed.values()))}")
        done = [c for i, c in enumerate(messages) if i not in failed]
        return _Published(done=done, failed=[messages[i] for i in failed], events=events, purged=purged)

    async def _flush_loop(self) -> None:
        """Publish the receipts of confirmed batches and settle them, many batches at a time."""
        while True:
            await self._flush_wake.wait()
            if self._task is not None and not self._stopping and self.settle_linger_s > 0:
                waiting = sum(len(p.done) + len(p.events) for p in self._unsettled)
                if waiting < self.batch_size:  # at low rates: let a few batches join (a stop cuts it short)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop_requested.wait(), self.settle_linger_s)
            self._flush_wake.clear()
            taken, self._unsettled = self._unsettled, []
            if taken:
                try:
                    await self._receipt_and_settle(taken)
                except Exception as exc:
                    if not note_store_outage(exc):
                        log.exception("outbox relay: settle failed; its rows are published again after the lease")
            if (self._task is None or self._stopping) and not self._unsettled and not self._in_flight:
                return

    async def _receipt_and_settle(self, taken: Sequence[_Published]) -> None:
        """Publish the receipts the batches owe (their event rows and the ``published`` receipts of their
        confirmed messages) as receipt batches in one go, then settle everything in one statement."""
        done = [c for p in taken for c in p.done]
        failed_rows = [c for p in taken for c in p.failed]
        events = [c for p in taken for c in p.events]
        publish_time = utc_now()
        owed = [c for c in done if c.sender and c.outgoing is not None]
        by_sender: dict[str, list[tuple[str, bytes]]] = {}
        for claimed in owed:
            assert claimed.outgoing is not None and claimed.sender is not None
            message_id = claimed.outgoing.message_id
            entry = receipt_entry(message_id, MessageStatus.PUBLISHED, publish_time)
            by_sender.setdefault(claimed.sender, []).append((message_id, entry))
        joined, members = coalesce([c.outgoing for c in events if c.outgoing is not None])
        receipts = [receipt_message(sender, MessageStatus.PUBLISHED, entries) for sender, entries in by_sender.items()]
        carried = [[message_id for message_id, _ in entries] for entries in by_sender.values()]
        # In lifecycle order (accepted, published, downloaded, ..., dead_lettered), which one channel keeps.
        outgoing = [*joined, *receipts]
        order = sorted(range(len(outgoing)), key=lambda i: _rank(outgoing[i]))
        failed_sends: set[int] = set()
        if order:
            try:
                await self._ensure_queues(outgoing)
                await self._transport.publish([outgoing[i] for i in order])
            except PublishError as exc:
                failed_sends = {order[i] for i in exc.failed}
            except Exception as exc:
                self._report_unconfirmed(f"receipts not confirmed: {type(exc).__name__}")
                failed_sends = set(order)
        failed_events = {row for sent in failed_sends if sent < len(joined) for row in members[sent]}
        unreceipted = [m for sent in failed_sends if sent >= len(joined) for m in carried[sent - len(joined)]]
        failed_rows += [events[i] for i in sorted(failed_events)]
        settled = done + [c for i, c in enumerate(events) if i not in failed_events]
        settled += [c for p in taken for c in p.purged]
        # The settle's own time, taken after the receipts' confirms: a download recorded meanwhile must not
        # come before the publish it followed in the history.
        await self._settle(settled, failed_rows, utc_now(), unreceipted)
        self.published_count += len(done)
        if unreceipted:
            self._wake.set()  # their receipts were enqueued as outbox rows: the claim loop takes them next

    def _report_unconfirmed(self, description: str) -> None:
        """While RabbitMQ is away every batch fails the same way: one outage in the log, not a line each."""
        if not self._transport.healthy() or any(sign in description for sign in _CONNECTION_SIGNS):
            outage_log.QUEUE.failed(f"outbox relay: {description}")
        else:
            log.warning("outbox relay: %s", description)

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection in autocommit mode (PostgreSQL only), kept between statements while the relay runs:
        every statement the relay runs there is a transaction of its own, so it needs no BEGIN, COMMIT or ping."""
        conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = await self._engine.connect()
            try:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
            except BaseException:
                await conn.close()
                raise
        try:
            yield conn
            await conn.commit()  # ends the autobegun (empty) transaction; nothing is sent in autocommit mode
        except BaseException:
            with contextlib.suppress(Exception):
                await conn.invalidate()
            with contextlib.suppress(Exception):
                await conn.close()
            raise
        if self._task is not None and not self._stopping and len(self._idle) < _IDLE_CONNECTIONS:
            self._idle.append(conn)
        else:
            await conn.close()

    async def _claim(self) -> list[_Claimed]:
        now = utc_now()
        if self._postgres:
            async with self._connection() as conn:
                rows = await conn.execute(
                    _PG_CLAIM, {"now": now, "limit": self.batch_size, "lease_until": now + self.lease}
                )
                return [_claimed(row) for row in rows]
        outbox = tables.outbox
        pending = sa.and_(
            outbox.c.published_at.is_(None), sa.or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now)
        )
        async with self._engine.begin() as conn:
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
        return [_claimed(row) for row in rows]

    async def _ensure_queues(self, batch: Sequence[OutgoingMessage]) -> None:
        """Declare each addressee's queues once per relay, so a publish is unroutable only on a real fault."""
        for outgoing in batch:
            orgnr = outgoing.routing_key.split(".", 1)[0]
            if orgnr not in self._ensured:
                await self._transport.ensure_participant(orgnr)
                self._ensured.add(orgnr)

    async def _settle(
        self,
        done: Sequence[_Claimed],
        failed: Sequence[_Claimed],
        now: datetime,
        unreceipted: Sequence[str] = (),
    ) -> None:
        """Record the confirmed rows as published and their messages' status change, and back off the failed
        ones. Receipts are enqueued for ``unreceipted`` only (the others were published before the settle)."""
        published = [c.outgoing.message_id for c in done if c.kind == OutboxKind.MESSAGE and c.outgoing]
        done_ids = [c.outbox_id for c in done]
        if self._postgres:
            async with self._connection() as conn:
                if done:
                    await StatusMoves(conn).settle_published(done_ids, published, now, frozenset(unreceipted))
                await self._back_off(conn, failed, now)
            return
        async with self._engine.begin() as conn:
            if done:
                await StatusMoves(conn).settle_published(done_ids, published, now, frozenset(unreceipted))
            await self._back_off(conn, failed, now)

    async def _back_off(self, conn: AsyncConnection, failed: Sequence[_Claimed], now: datetime) -> None:
        outbox = tables.outbox
        for claimed in failed:
            # The lease becomes the row's backoff, so every relay waits before trying it again.
            retry_at = now + timedelta(seconds=self._backoff(claimed.attempts))
            await conn.execute(
                sa.update(outbox)
                .where(outbox.c.id == claimed.outbox_id, outbox.c.published_at.is_(None))
                .values(lease_until=retry_at)
            )

    def _backoff(self, attempts: int) -> float:
        ceiling = min(self.retry_max_s, self.retry_base_s * 2.0 ** min(max(0, attempts - 1), 30))
        return ceiling * random.uniform(0.5, 1.0)


_STATUS_RANK = {status.value: rank for rank, status in enumerate(MessageStatus)}


def _rank(receipt: OutgoingMessage) -> int:
    return _STATUS_RANK.get(receipt.headers.get(HEADER_STATUS, ""), len(_STATUS_RANK))


def _claimed(row: Any) -> _Claimed:
    """A claimed ``sa.Row`` or a ``LeasedRow``: both carry the outbox columns and the message's fields."""
    sender = getattr(row, "sender", None) if row.kind == OutboxKind.MESSAGE else None
    return _Claimed(row.id, row.kind, row.attempts, _outgoing(row), sender)


def _outgoing(row: Any) -> OutgoingMessage | None:
    headers = {str(k): str(v) for k, v in (row.headers or {}).items()}
    if row.kind == OutboxKind.MESSAGE:
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
        content_type=CLOUDEVENTS_CONTENT_TYPE if row.kind == OutboxKind.CLOUDEVENT else JSON_CONTENT_TYPE,
    )
