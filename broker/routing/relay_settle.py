"""The relay's settle stage: the receipts a confirmed batch owes, then one statement that records it.

Confirmed batches wait here for the flusher, which takes every batch confirmed meanwhile (lingering up to
``linger_s`` when few wait), publishes the receipts they owe (their event rows, such as ``accepted``, and
the ``published`` receipts of their messages) as receipt batches, one events message per sender and
status, in lifecycle order, waits for those confirms, and only then settles them all in one statement
(marks the rows published, records the status moves). A crash in between leaves the rows unsettled: they
are published again after their lease, a duplicate at worst, and no receipt is ever lost. A receipt that
could not be published is enqueued by the settle, in the same transaction, as an outbox row that the next
claim takes; when RabbitMQ confirms the receipts no receipt rows are written at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

from broker.domain.clock import utc_now
from broker.domain.lifecycle import MessageStatus
from broker.routing.receipt_batches import HEADER_STATUS, coalesce, receipt_message
from broker.routing.relay_publish import Published, Publisher, outgoing
from broker.routing.transport import OutgoingMessage
from broker.store.outages import note_store_outage
from broker.store.outbox_queue import OutboxQueue
from broker.store.status_moves import receipt_entry

log = logging.getLogger("broker.routing.relay")

_STATUS_RANK = {status.value: rank for rank, status in enumerate(MessageStatus)}


def _rank(receipt: OutgoingMessage) -> int:
    return _STATUS_RANK.get(receipt.headers.get(HEADER_STATUS, ""), len(_STATUS_RANK))


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
            await self._wake.wait()
            if not self._stop_requested.is_set() and self.linger_s > 0:
                waiting = sum(len(p.done) + len(p.events) for p in self._unsettled)
                if waiting < self._batch_size:  # at low rates: let a few batches join (a stop cuts it short)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop_requested.wait(), self.linger_s)
            self._wake.clear()
            taken, self._unsettled = self._unsettled, []
            if taken:
                try:
                    await self.settle(taken)
                except Exception as exc:
                    if not note_store_outage(exc):
                        log.exception("outbox relay: settle failed; its rows are published again after the lease")
            if self._stop_requested.is_set() and not self._unsettled:
                return

    async def settle(self, taken: Sequence[Published]) -> None:
        """Publish the receipts the batches owe in one go, then settle everything in one statement."""
        done = [row for p in taken for row in p.done]
        failed = [row for p in taken for row in p.failed]
        events = [row for p in taken for row in p.events]
        by_sender: dict[str, list[tuple[str, bytes]]] = {}
        for published in taken:
            for row in published.done:
                if row.sender is not None:
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
        failed += [events[i] for i in sorted(failed_events)]
        settled = done + [row for i, row in enumerate(events) if i not in failed_events]
        settled += [row for p in taken for row in p.purged]
        # Each message's publish is recorded at the time its confirm arrived, as its receipt says.
        confirmed_at = {row.message_id: p.confirmed_at for p in taken for row in p.done}
        now = utc_now()
        retry_at = {row.outbox_id: now + timedelta(seconds=self._backoff(row.attempts)) for row in failed}
        await self._outbox.settle(settled, confirmed_at, retry_at, now, unreceipted)
        self.published_count += len(done)
        if unreceipted:
            self._receipts_enqueued()  # enqueued as outbox rows: the claim loop takes them next
