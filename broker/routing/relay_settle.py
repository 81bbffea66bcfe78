"""The relay's settle stage: record each confirmed publish at once, then the receipts, then settle the rows.

Two steps. **Record**: the moment a batch's confirms arrive, one statement of its own (``record``, in the
task that published it) moves its messages to ``published`` (a history row each, dated at the confirm) and
does nothing else; what meets a database outage waits in the record loop. **Settle**, in a task of its
own: the receipts the recorded batches owe (their event rows, such as ``accepted``, and the ``published``
receipts of their messages) are published as receipt batches, one events message per sender and status, in
lifecycle order, and once RabbitMQ confirms them one statement marks the outbox rows published.

The record comes first because a message whose publish is recorded is never published again: a relay that
dies after the record leaves outbox rows that the next relay settles, with their receipts, without
publishing the message (``ClaimedRow.published_at``). Only a death between the confirm and the record (one
statement's time, where it used to be the receipts' round trip and the settle as well) makes a message be
published twice (bench/README.md, the soak). A receipt is never lost: a crash before the settle leaves the
rows to be settled, and their receipts published, again. A receipt that could not be published is enqueued
by the settle as an outbox row that the next claim takes; so is the ``published`` receipt of a sender that
is disabled, whose row waits for the sender to be enabled again (``broker.store.outbox_queue``). A record or
settle that meets a database outage (a restart, a failover) is kept and written when the database answers
again, so rows already published are not published a second time when their lease runs out.

On a transport whose messages die with the process (the in-process bus of the embedded default) a publish
repeated after a crash is no duplicate: the copy published before is gone too. There the record waits for
the settle stage (``defer``) and is written in the settle's own statement, after the receipts: one
transaction serves every batch the settle takes, where a record and a settle were two.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from broker.domain.clock import utc_now
from broker.domain.lifecycle import MessageStatus
from broker.routing.receipt_batches import HEADER_STATUS, coalesce, receipt_message
from broker.routing.relay_publish import Published, Publisher, outgoing
from broker.routing.transport import OutgoingMessage
from broker.store.outages import note_store_outage
from broker.store.outbox_queue import OutboxQueue
from broker.store.outbox_repository import ClaimedRow, OutboxEntry
from broker.store.status_moves import receipt_entry, receipt_row

log = logging.getLogger("broker.routing.relay")

RETRY_BASE_S = 0.2
RETRY_MAX_S = 2.0
# A row's lease ends at its retry time; the wake comes this much later, so the claim finds it free.
RETRY_WAKE_SLACK_S = 0.01
_STATUS_RANK = {status.value: rank for rank, status in enumerate(MessageStatus)}


def _rank(receipt: OutgoingMessage) -> int:
    return _STATUS_RANK.get(receipt.headers.get(HEADER_STATUS, ""), len(_STATUS_RANK))


@dataclass(frozen=True, slots=True)
class _Record:
    """What one settle statement writes (``OutboxQueue.settle``'s arguments) and how many it publishes."""

    settled: list[ClaimedRow]
    retry_at: dict[int, datetime]
    now: datetime
    receipts: list[OutboxEntry]
    published: int
    # The deferred batches' publishes, recorded in the same statement (``defer``).
    confirmed_at: dict[str, datetime] = field(default_factory=dict)


def _confirmed_at(taken: Sequence[Published]) -> dict[str, datetime]:
    """Each message published by these batches, at the time its confirm arrived (what the record writes)."""
    return {row.message_id: p.confirmed_at for p in taken for row in p.done}


class _Retries:
    """The pause before writing again what met a database outage: doubled each time, up to ``RETRY_MAX_S``."""

    def __init__(self) -> None:
        self.delay_s = RETRY_BASE_S

    def failed(self) -> None:
        self.delay_s = min(RETRY_MAX_S, self.delay_s * 2)

    def succeeded(self) -> None:
        self.delay_s = RETRY_BASE_S


async def _woken(wake: asyncio.Event, retrying: _Retries | None) -> None:
    """Wait for new work; while a database outage holds some back (``retrying``), also for the next try,
    after a pause, even when nothing new arrives."""
    if retrying is None:
        await wake.wait()
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), retrying.delay_s)


class Settler:
    """Records, receipts and settles for one relay: ``settle`` directly, or ``add`` to the running steps."""

    def __init__(
        self,
        outbox: OutboxQueue,
        publisher: Publisher,
        *,
        backoff: Callable[[int], float],
        wake_relay: Callable[[], None],
        linger_s: float,
        batch_size: int,
    ) -> None:
        self._outbox = outbox
        self._publisher = publisher
        self._backoff = backoff
        self._wake_relay = wake_relay  # the claim loop: rows for it to take now
        self.linger_s = linger_s
        self._batch_size = batch_size
        self._confirmed: list[Published] = []  # waiting for the record
        self._deferred: list[Published] = []  # recorded with the next settle (``defer``)
        self._recorded: list[Published] = []  # recorded, waiting for their receipts and the settle
        self._record_wake = asyncio.Event()
        self._settle_wake = asyncio.Event()
        self._stop_recording = asyncio.Event()
        self._stop_settling = asyncio.Event()
        self._recorder: asyncio.Task[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self.published_count = 0
        # Records and settles that met a database outage: written when it returns, oldest first.
        self._unrecorded: list[Published] = []
        self._to_write: list[_Record] = []
        self._record_retries = _Retries()
        self._settle_retries = _Retries()

    @property
    def running(self) -> bool:
        return self._recorder is not None and not self._recorder.done() and not self._stop_recording.is_set()

    def start(self) -> None:
        if self._recorder is None:
            self._stop_recording.clear()
            self._stop_settling.clear()
            loop = asyncio.get_running_loop()
            self._recorder = loop.create_task(self._record_loop(), name="outbox relay record")
            self._flusher = loop.create_task(self._settle_loop(), name="outbox relay settle")

    async def stop(self, grace_s: float) -> None:
        """Record and settle what is waiting (cutting the linger short) and end both steps; cancelled after
        ``grace_s``."""
        recorder, flusher = self._recorder, self._flusher
        self._recorder = self._flusher = None
        if recorder is None or flusher is None:
            return
        deadline = asyncio.get_running_loop().time() + grace_s
        self._stop_recording.set()
        self._record_wake.set()
        await self._finish(recorder, grace_s)
        self._stop_settling.set()
        self._settle_wake.set()
        await self._finish(flusher, max(0.0, deadline - asyncio.get_running_loop().time()))

    @staticmethod
    async def _finish(task: asyncio.Task[None], within_s: float) -> None:
        _, unfinished = await asyncio.wait([task], timeout=within_s)
        for left in unfinished:
            left.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await left

    def defer(self, published: Published) -> None:
        """Record the batch with the next settle rather than at once: for a transport whose messages die
        with this process (the in-process bus), where a publish repeated after a crash is no duplicate, so
        the record needs no statement of its own; at low rates one settle then records several messages."""
        self._deferred.append(published)
        self._settle_wake.set()

    def add(self, published: Published) -> None:
        """Record the batch in the record loop's next statement (``record`` does it at once)."""
        self._confirmed.append(published)
        self._record_wake.set()

    async def record(self, published: Published) -> None:
        """Record the batch's publishes now, in a statement of its own rather than after another batch's
        (any wait is time in which a dying relay leaves a delivered message unrecorded); then on to its
        receipts and settle. A database outage leaves it to the record loop, which writes it when the
        database answers again."""
        match await self._write_record([published]):
            case "outage":
                self.add(published)
            case "written":
                self._settle_wake.set()

    async def _write_record(
        self, batches: list[Published], *, settle_next: bool = True
    ) -> Literal["written", "outage", "failed"]:
        """One record statement for ``batches``; once written they wait for their receipts and settle (unless
        not ``settle_next``: their rows are then settled after the lease). Any other failure leaves their
        rows to be published again after the lease (never lost)."""
        try:
            await self._outbox.record_published(_confirmed_at(batches), utc_now())
        except Exception as exc:
            if note_store_outage(exc):
                return "outage"
            log.exception("outbox relay: record failed; its rows are published again after the lease")
            return "failed"
        if settle_next:
            self._recorded.extend(batches)
        return "written"

    async def _record_loop(self) -> None:
        """Record every batch confirmed since the last record, at once: no linger, the record is the step
        that keeps a dead relay's messages from being published twice."""
        while True:
            await _woken(self._record_wake, self._record_retries if self._unrecorded else None)
            self._record_wake.clear()
            taken = self._unrecorded + self._confirmed
            self._unrecorded, self._confirmed = [], []
            if taken:
                match await self._write_record(taken):
                    case "outage":
                        self._record_retries.failed()
                        self._unrecorded = taken
                    case "written":
                        self._record_retries.succeeded()
                        self._settle_wake.set()
            if self._stop_recording.is_set() and not self._confirmed:
                return

    async def _settle_loop(self) -> None:
        while True:
            await _woken(self._settle_wake, self._settle_retries if self._to_write else None)
            if not self._stop_settling.is_set() and self.linger_s > 0:
                waiting = sum(len(p.done) + len(p.events) for p in (*self._recorded, *self._deferred))
                if waiting < self._batch_size:  # at low rates: let a few batches join (a stop cuts it short)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop_settling.wait(), self.linger_s)
            self._settle_wake.clear()
            written = await self._write_waiting()
            deferred, self._deferred = self._deferred, []
            taken, self._recorded = self._recorded, []
            if taken or deferred:
                try:
                    record = await self._receipts([*taken, *deferred], recording=deferred)
                except Exception:
                    log.exception("outbox relay: settle failed; its rows are settled again after the lease")
                    await self._record_alone(deferred)
                else:
                    self._to_write.append(record)
                    if written:
                        await self._write_waiting()
            if self._stop_settling.is_set() and not self._recorded and not self._deferred:
                return

    async def _record_alone(self, deferred: list[Published]) -> None:
        """The deferred batches' record without their settle, which failed: a publish recorded is not
        published again while this process lives; their rows are settled after the lease, as the others'
        (a database outage hands them to the record loop)."""
        if deferred and await self._write_record(deferred, settle_next=False) == "outage":
            for published in deferred:
                self.add(published)

    async def _write_waiting(self) -> bool:
        """Write the settles waiting, oldest first; False when the database is still away (they stay, and the
        next try waits longer, up to ``RETRY_MAX_S``)."""
        while self._to_write:
            try:
                await self._write(self._to_write[0])
            except Exception as exc:
                if note_store_outage(exc):
                    self._settle_retries.failed()
                    return False
                log.exception("outbox relay: settle failed; its rows are settled again after the lease")
            self._to_write.pop(0)
        self._settle_retries.succeeded()
        return True

    async def settle(self, taken: Sequence[Published]) -> None:
        """Record the batches' publishes, publish the receipts they owe in one go, then settle their rows."""
        await self._outbox.record_published(_confirmed_at(taken), utc_now())
        await self._write(await self._receipts(taken))

    async def _receipts(self, taken: Sequence[Published], recording: Sequence[Published] = ()) -> _Record:
        """Publish the receipts the batches owe; what the settle statement is to write (with the record of
        ``recording``, deferred batches among ``taken``)."""
        done = [row for p in taken for row in p.done]
        recorded = [row for p in taken for row in p.recorded]
        failed = [row for p in taken for row in p.failed]
        events = [row for p in taken for row in p.events]
        # Each message's publish at the time its confirm arrived, as its receipt says.
        owed = [(row, p.confirmed_at) for p in taken for row in p.done]
        owed += [(row, row.published_at) for row in recorded if row.published_at is not None]
        by_sender: dict[str, list[tuple[str, bytes]]] = {}
        held: list[OutboxEntry] = []
        for row, at in owed:
            if row.sender is None:
                continue
            if row.sender_active:
                entry = receipt_entry(row.message_id, MessageStatus.PUBLISHED, at)
                by_sender.setdefault(row.sender, []).append((row.message_id, entry))
            else:
                held.append(receipt_row(row.message_id, row.sender, MessageStatus.PUBLISHED, at))
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
        unsent = {m for sent in failed_sends if sent >= len(joined) for m in carried[sent - len(joined)]}
        held += [
            receipt_row(row.message_id, row.sender, MessageStatus.PUBLISHED, at)
            for row, at in owed
            if row.sender is not None and row.message_id in unsent
        ]
        failed += [events[i] for i in sorted(failed_events)]
        settled = done + recorded + [row for i, row in enumerate(events) if i not in failed_events]
        settled += [row for p in taken for row in p.purged]
        now = utc_now()
        # One back-off per attempt count, not per row: a batch refused together is retried together, at one
        # wake of the claim loop (``_write``).
        delays = {attempts: self._backoff(attempts) for attempts in {row.attempts for row in failed}}
        retry_at = {row.outbox_id: now + timedelta(seconds=delays[row.attempts]) for row in failed}
        return _Record(settled, retry_at, now, held, len(done), _confirmed_at(recording))

    async def _write(self, record: _Record) -> None:
        await self._outbox.settle(record.settled, record.retry_at, record.now, record.receipts, record.confirmed_at)
        self.published_count += record.published
        if record.receipts:
            self._wake_relay()  # enqueued as outbox rows: the claim loop takes them next
        if record.retry_at:
            # Rows RabbitMQ refused (a quorum queue electing its leader) are claimed again the moment their
            # back-off ends, not at the claim loop's next poll, up to a poll interval later.
            loop, now = asyncio.get_running_loop(), utc_now()
            for due in set(record.retry_at.values()):
                loop.call_later(max(0.0, (due - now).total_seconds()) + RETRY_WAKE_SLACK_S, self._wake_relay)
