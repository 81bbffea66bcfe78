"""The relay's settle stage: the receipts a confirmed batch owes, then one statement that records it.

Confirmed batches wait here for the flusher, which takes every batch confirmed meanwhile (lingering up to
``linger_s`` when few wait), publishes the receipts they owe (their event rows, such as ``accepted``, and
the ``published`` receipts of their messages) as receipt batches, one events message per sender and
status, in lifecycle order, waits for those confirms, and only then settles them all in one statement
(marks the rows published, records the status moves). A crash in between leaves the rows unsettled: they
are published again after their lease, a duplicate at worst, and no receipt is ever lost. A receipt that
could not be published is enqueued by the settle, in the same transaction, as an outbox row that the next
claim takes; when RabbitMQ confirms the receipts no receipt rows are written at all. A settle statement
that meets a database outage (a restart, a failover) is kept and written when the database answers again,
so its rows, already published, are not published a second time when their lease runs out. The ``published``
receipt of a sender that is disabled is not published either: it is enqueued the same way, and its outbox row
waits for the sender to be enabled again (``broker.store.outbox_queue``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from broker.domain.clock import utc_now
from broker.domain.lifecycle import MessageStatus
from broker.routing.receipt_batches import HEADER_STATUS, coalesce, receipt_message
from broker.routing.relay_publish import Published, Publisher, outgoing
from broker.routing.transport import OutgoingMessage
from broker.store.outages import note_store_outage
from broker.store.outbox_queue import OutboxQueue
from broker.store.outbox_repository import ClaimedRow
from broker.store.status_moves import receipt_entry

log = logging.getLogger("broker.routing.relay")

RETRY_BASE_S = 0.2
RETRY_MAX_S = 2.0
_STATUS_RANK = {status.value: rank for rank, status in enumerate(MessageStatus)}


def _rank(receipt: OutgoingMessage) -> int:
    return _STATUS_RANK.get(receipt.headers.get(HEADER_STATUS, ""), len(_STATUS_RANK))


@dataclass(frozen=True, slots=True)
class _Record:
    """What one settle statement records (``OutboxQueue.settle``'s arguments) and how many it publishes."""

    settled: list[ClaimedRow]
    confirmed_at: dict[str, datetime]
    retry_at: dict[int, datetime]
    now: datetime
    unreceipted: list[str]
    published: int


class Settler:
    """Receipts and settles for one relay: ``settle`` directly, or ``add`` to the flusher's next round."""

    def __init__(
        self,
        outbox: OutboxQueue,
        publisher: Publisher,
        *,
        backoff: Callable[[int], float],
        receipts_enqueued: Callable[[], None],
        linger_s: float,
        batch_size: int,
    ) -> None:
        self._outbox = outbox
        self._publisher = publisher
        self._backoff = backoff
        self._receipts_enqueued = receipts_enqueued
        self.linger_s = linger_s
        self._batch_size = batch_size
        self._unsettled: list[Published] = []
        self._wake = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self.published_count = 0
        # Settles whose receipts went out but whose statement met a database outage: written when it returns,
        # so the rows are not published again when their lease runs out.
        self._to_write: list[_Record] = []
        self._retry_delay_s = RETRY_BASE_S

    @property
    def running(self) -> bool:
        return self._flusher is not None and not self._flusher.done() and not self._stop_requested.is_set()

    def start(self) -> None:
        if self._flusher is None:
            self._stop_requested.clear()
            self._flusher = asyncio.get_running_loop().create_task(self._flush_loop(), name="outbox relay settle")

    async def stop(self, grace_s: float) -> None:
        """Settle what is waiting (cutting the linger short) and end the flusher; cancelled after ``grace_s``."""
        flusher, self._flusher = self._flusher, None
        if flusher is None:
            return
        self._stop_requested.set()
        self._wake.set()
        _, unfinished = await asyncio.wait([flusher], timeout=grace_s)
        for left in unfinished:
            left.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await left

    def add(self, published: Published) -> None:
        self._unsettled.append(published)
        self._wake.set()

    async def _flush_loop(self) -> None:
        while True:
            if self._to_write:  # a database outage: try again after a pause even when nothing new arrives
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._retry_delay_s)
            else:
                await self._wake.wait()
            if not self._stop_requested.is_set() and self.linger_s > 0:
                waiting = sum(len(p.done) + len(p.events) for p in self._unsettled)
                if waiting < self._batch_size:  # at low rates: let a few batches join (a stop cuts it short)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop_requested.wait(), self.linger_s)
            self._wake.clear()
            written = await self._write_waiting()
            taken, self._unsettled = self._unsettled, []
            if taken:
                try:
                    record = await self._receipts(taken)
                except Exception:
                    log.exception("outbox relay: settle failed; its rows are published again after the lease")
                else:
                    self._to_write.append(record)
                    if written:
                        await self._write_waiting()
            if self._stop_requested.is_set() and not self._unsettled:
                return

    async def _write_waiting(self) -> bool:
        """Write the records waiting, oldest first; False when the database is still away (they stay, and the
        next try waits longer, up to ``RETRY_MAX_S``)."""
        while self._to_write:
            try:
                await self._write(self._to_write[0])
            except Exception as exc:
                if note_store_outage(exc):
                    self._retry_delay_s = min(RETRY_MAX_S, self._retry_delay_s * 2)
                    return False
                log.exception("outbox relay: settle failed; its rows are published again after the lease")
            self._to_write.pop(0)
        self._retry_delay_s = RETRY_BASE_S
        return True

    async def settle(self, taken: Sequence[Published]) -> None:
        """Publish the receipts the batches owe in one go, then settle everything in one statement."""
        await self._write(await self._receipts(taken))

    async def _receipts(self, taken: Sequence[Published]) -> _Record:
        """Publish the receipts the batches owe; what the settle statement is to record."""
        done = [row for p in taken for row in p.done]
        failed = [row for p in taken for row in p.failed]
        events = [row for p in taken for row in p.events]
        by_sender: dict[str, list[tuple[str, bytes]]] = {}
        held = [row.message_id for p in taken for row in p.done if row.sender is not None and not row.sender_active]
        for published in taken:
            for row in published.done:
                if row.sender is not None and row.sender_active:
                    entry = receipt_entry(row.message_id, MessageStatus.PUBLISHED, published.confirmed_at)
                    by_sender.setdefault(row.sender, []).append((row.message_id, entry))
        joined, members = coalesce([m for m in map(outgoing, events) if m is not None])
        receipts = [receipt_message(sender, MessageStatus.PUBLISHED, entries) for sender, entries in by_sender.items()]
        carried = [[message_id for message_id, _ in entries] for entries in by_sender.values()]
        # In lifecycle order (accepted, published, downloaded, ..., dead_lettered), which one channel keeps.
        sending = [*joined, *receipts]
        order = sorted(range(len(sending)), key=lambda i: _rank(sending[i]))
        not_sent = await self._publisher.publish([sending[i] for i in order])
        if not_sent:
            self._publisher.report_unconfirmed(
                f"{len(not_sent)} receipt batches not confirmed: {next(iter(not_sent.values()))}"
            )
        failed_sends = {order[i] for i in not_sent}
        failed_events = {row for sent in failed_sends if sent < len(joined) for row in members[sent]}
        unreceipted = [m for sent in failed_sends if sent >= len(joined) for m in carried[sent - len(joined)]]
        unreceipted += held
        failed += [events[i] for i in sorted(failed_events)]
        settled = done + [row for i, row in enumerate(events) if i not in failed_events]
        settled += [row for p in taken for row in p.purged]
        # Each message's publish is recorded at the time its confirm arrived, as its receipt says.
        confirmed_at = {row.message_id: p.confirmed_at for p in taken for row in p.done}
        now = utc_now()
        retry_at = {row.outbox_id: now + timedelta(seconds=self._backoff(row.attempts)) for row in failed}
        return _Record(settled, confirmed_at, retry_at, now, unreceipted, len(done))

    async def _write(self, record: _Record) -> None:
        await self._outbox.settle(record.settled, record.confirmed_at, record.retry_at, record.now, record.unreceipted)
        self.published_count += record.published
        if record.unreceipted:
            self._receipts_enqueued()  # enqueued as outbox rows: the claim loop takes them next
