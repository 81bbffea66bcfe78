"""The outbox relay over the in-process bus, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from broker.routing.inprocess import InProcessTransport
from broker.routing.receipt_batches import receipts_in
from broker.routing.relay import OutboxRelay
from broker.routing.transport import OutgoingMessage, PublishError
from tests.routing.rows import BANK, MEGLER, broker_engine, eventually, history, outbox_queue, statuses, store_messages
from tests.routing.transports import Collector


async def test_relay_publishes_marks_published_and_sends_receipt(database_url: str) -> None:
    transport = InProcessTransport()
    await transport.start()
    async with broker_engine(database_url) as engine:
        relay = OutboxRelay(outbox_queue(engine), transport, poll_interval_s=5.0)
        await relay.start()
        try:
            received, events = [], []

            async def on_message(delivery) -> None:
                received.append((delivery.message_id, delivery.routing_key, dict(delivery.headers), delivery.body))
                await delivery.ack()

            async def on_event(delivery) -> None:
                events.extend(receipts_in(delivery.body))
                await delivery.ack()

            await transport.ensure_participant(MEGLER)
            await transport.ensure_participant(BANK)
            await transport.consume(MEGLER, on_message)
            await transport.consume_events(BANK, on_event)
            ids = await store_messages(engine, BANK, MEGLER, count=3)
            relay.notify()

            async def all_published() -> bool:
                published = set((await statuses(engine)).values()) == {"published"}
                return published and len(events) == 3 and await relay.backlog() == 0

            await eventually(all_published, within=3.0)  # notify wakes the relay well before its 5 s poll
            assert sorted(m[0] for m in received) == sorted(ids)
            message_id, routing_key, headers, body = received[0]
            assert routing_key == f"{MEGLER}.intensjonFraBank"
            assert headers["sender"] == BANK and headers["recipient"] == MEGLER
            assert headers["message-type"] == "intensjonFraBank"
            assert message_id.encode() in body
            assert {e["messageId"] for e in events} == set(ids)
            assert {e["status"] for e in events} == {"published"}
            assert await history(engine, ids[0]) == [("published", "relay")]
        finally:
            await relay.stop()
            await transport.close()


class FlakyTransport(InProcessTransport):
    """Refuses the first publishes of every batch, to show the relay retries rather than loses."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def publish(self, batch: list[OutgoingMessage]) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise PublishError(dict.fromkeys(range(len(batch)), "nack"))
        await super().publish(batch)


async def test_relay_retries_a_refused_batch_with_backoff(database_url: str) -> None:
    transport = FlakyTransport(failures=3)
    await transport.start()
    async with broker_engine(database_url) as engine:
        relay = OutboxRelay(outbox_queue(engine), transport, poll_interval_s=0.05, retry_base_s=0.05, retry_max_s=0.2)
        ids = await store_messages(engine, BANK, MEGLER, count=5)
        await relay.start()
        try:

            async def all_published() -> bool:
                return set((await statuses(engine)).values()) == {"published"} and await relay.backlog() == 0

            await eventually(all_published)
            assert transport.failures == 0
            assert transport.queue_depth("inbox", MEGLER) == len(ids)
            receipts = Collector()
            await transport.consume_events(BANK, receipts)
            await receipts.wait_for(transport.queue_depth("events", BANK) or 1)
            carried = [r["messageId"] for d in receipts.deliveries for r in receipts_in(d.body)]
            assert sorted(carried) == sorted(ids)  # every receipt once, however the batches joined them
        finally:
            await relay.stop()
            await transport.close()


async def test_a_refused_batch_is_published_again_when_its_back_off_ends_not_at_the_next_poll(
    database_url: str,
) -> None:
    transport = FlakyTransport(failures=1)
    await transport.start()
    async with broker_engine(database_url) as engine:
        # A poll 60 s away: only the wake at the end of the back-off (at most 0.2 s) brings the rows back.
        relay = OutboxRelay(outbox_queue(engine), transport, poll_interval_s=60.0, retry_base_s=0.1, retry_max_s=0.2)
        await relay.start()
        try:
            ids = await store_messages(engine, BANK, MEGLER, count=2)
            relay.notify()

            async def all_published() -> bool:
                return set((await statuses(engine)).values()) == {"published"} and await relay.backlog() == 0

            await eventually(all_published, within=10.0)
            assert transport.failures == 0
            assert transport.queue_depth("inbox", MEGLER) == len(ids)
        finally:
            await relay.stop()
            await transport.close()


async def test_relay_does_not_move_a_status_backwards(database_url: str) -> None:
    import sqlalchemy as sa

    from broker.store import tables

    transport = InProcessTransport()
    await transport.start()
    async with broker_engine(database_url) as engine:
        [message_id] = await store_messages(engine, BANK, MEGLER)
        confirmed_at = datetime.now(UTC) + timedelta(seconds=30)  # recorded before the relay's settle took its time
        async with engine.begin() as conn:
            await conn.execute(sa.update(tables.messages).values(status="confirmed", status_changed_at=confirmed_at))
        relay = OutboxRelay(outbox_queue(engine), transport)
        assert await relay.run_once() == 1
        assert (await statuses(engine))[message_id] == "confirmed"
        # The publish happened, so it is on record once; the status stays where the recipient took it, and the
        # record carries the time of the publish confirm: before the step that overtook it.
        assert await history(engine, message_id) == [("published", "relay")]
        async with engine.connect() as conn:
            recorded_at = await conn.scalar(sa.select(tables.status_history.c.at))
        assert recorded_at <= confirmed_at
        assert transport.queue_depth("events", BANK) == 1  # the sender's receipt for it, published at once
        assert await relay.run_once() == 0
        assert await history(engine, message_id) == [("published", "relay")]
        await relay.stop()
        await transport.close()


async def test_a_leased_row_waits_and_an_expired_lease_is_claimed_again(database_url: str) -> None:
    """A relay that died after claiming leaves a lease; while it holds nobody else publishes, then one does."""
    transport = InProcessTransport()
    await transport.start()
    async with broker_engine(database_url) as engine:
        await store_messages(engine, BANK, MEGLER, count=2)
        holding = OutboxRelay(outbox_queue(engine), transport, lease_s=60.0)
        assert len(await holding.claim()) == 2
        survivor = OutboxRelay(outbox_queue(engine), transport)
        assert await survivor.run_once() == 0

        await store_messages(engine, BANK, MEGLER, count=2)
        crashed = OutboxRelay(outbox_queue(engine), transport, lease_s=0.0)
        assert len(await crashed.claim()) == 2
        assert await survivor.run_once() == 2
        assert await survivor.backlog() == 2  # the held two; the receipts were published before the settle
        assert await survivor.run_once() == 0
        for relay in (holding, survivor, crashed):
            await relay.stop()
        await transport.close()


async def test_dead_letters_are_recorded_with_a_receipt(database_url: str, tmp_path) -> None:
    from broker.routing.dead_letters import DeadLetterWatcher
    from participants.sdk.consumer import InboxConsumer, PermanentFailure
    from participants.sdk.dedup import DedupStore
    from tests.routing.transports import Collector

    transport = InProcessTransport(delivery_limit=1)
    await transport.start()
    async with broker_engine(database_url) as engine:
        relay = OutboxRelay(outbox_queue(engine), transport)
        watcher = DeadLetterWatcher(engine, transport, on_event=relay.notify)
        await relay.start()
        await watcher.start()

        async def refuse(delivery) -> None:
            raise PermanentFailure("unknown case")

        store = DedupStore(f"sqlite+aiosqlite:///{tmp_path / 'handled.db'}")
        await transport.ensure_participant(BANK)
        consumer = InboxConsumer(transport, MEGLER, refuse, store)
        await transport.ensure_participant(MEGLER)
        await consumer.start()
        receipts = Collector()
        await transport.consume_events(BANK, receipts)
        [message_id] = await store_messages(engine, BANK, MEGLER)
        relay.notify()
        await receipts.wait_for(2)
        assert [r["status"] for d in receipts.deliveries for r in receipts_in(d.body)] == ["published", "dead_lettered"]
        assert (await statuses(engine))[message_id] == "dead_lettered"
        assert await history(engine, message_id) == [("published", "relay"), ("dead_lettered", "broker")]
        assert watcher.recorded == 1 and transport.queue_depth("dead", MEGLER) == 1
        await consumer.stop()
        await watcher.stop()
        await relay.stop()
        await store.close()
        await transport.close()


class CountingInProcess(InProcessTransport):
    """Counts the events messages published, to show receipts of several batches travel together."""

    def __init__(self) -> None:
        super().__init__()
        self.events_published: list[OutgoingMessage] = []

    async def publish(self, batch: list[OutgoingMessage]) -> None:
        await super().publish(batch)
        self.events_published += [m for m in batch if m.exchange == "events"]


async def test_receipts_of_batches_confirmed_together_travel_as_one_message_per_status(database_url: str) -> None:

    from broker.domain.lifecycle import MessageStatus
    from broker.store.outbox_repository import OutboxRepository
    from broker.store.status_moves import receipt_row

    transport = CountingInProcess()
    await transport.start()
    async with broker_engine(database_url) as engine:
        relay = OutboxRelay(outbox_queue(engine), transport, settle_linger_s=0.5)
        await transport.ensure_participant(MEGLER)
        await transport.ensure_participant(BANK)
        await relay.start()
        try:
            ids: list[str] = []
            for _ in range(3):  # three commits, each claimed and published as a batch of its own
                [message_id] = await store_messages(engine, BANK, MEGLER)
                async with engine.begin() as conn:
                    receipt = receipt_row(message_id, BANK, MessageStatus.ACCEPTED, datetime.now(UTC))
                    await OutboxRepository(conn).add_many([receipt])
                ids.append(message_id)
                relay.notify()

            async def settled() -> bool:
                return set((await statuses(engine)).values()) == {"published"} and await relay.backlog() == 0

            await eventually(settled)
        finally:
            await relay.stop()
        assert [m.routing_key for m in transport.events_published] == [f"{BANK}.accepted", f"{BANK}.published"]
        carried = [[(r["messageId"], r["status"]) for r in receipts_in(m.body)] for m in transport.events_published]
        assert sorted(carried[0]) == sorted((i, "accepted") for i in ids)
        assert sorted(carried[1]) == sorted((i, "published") for i in ids)
        assert transport.queue_depth("inbox", MEGLER) == len(ids)
        await transport.close()


async def test_a_stop_settles_what_was_published_without_waiting_out_the_linger(database_url: str) -> None:
    transport = InProcessTransport()
    await transport.start()
    async with broker_engine(database_url) as engine:
        # A linger of an hour: a stop that waited it out would not end within the bound below.
        relay = OutboxRelay(outbox_queue(engine), transport, settle_linger_s=3600.0)
        await transport.ensure_participant(MEGLER)
        await relay.start()
        ids = await store_messages(engine, BANK, MEGLER, count=4)
        relay.notify()

        async def published() -> bool:
            return transport.queue_depth("inbox", MEGLER) == len(ids)

        await eventually(published)
        assert await relay.backlog() == len(ids)  # published, not yet settled: the flusher lingers
        await asyncio.wait_for(relay.stop(), 120)
        assert await relay.backlog() == 0
        assert set((await statuses(engine)).values()) == {"published"}
        assert transport.queue_depth("events", BANK) == 1  # the four receipts in one message
        await transport.close()


async def test_over_the_in_process_bus_publishes_are_recorded_with_their_settle(database_url: str) -> None:
    # The bus dies with the process, so a publish repeated after a crash is no duplicate: the record of
    # each batch waits for the settle, and the settle's one transaction records every batch it takes.
    transport = InProcessTransport()
    await transport.start()
    async with broker_engine(database_url) as engine:
        queue = outbox_queue(engine)
        records: list[int] = []
        settles: list[int] = []
        record_published, settle = queue.record_published, queue.settle

        async def counted_record(confirmed_at, now) -> None:  # type: ignore[no-untyped-def]
            records.append(len(confirmed_at))
            await record_published(confirmed_at, now)

        async def counted_settle(done, retry_at, now, receipts=(), confirmed_at=None) -> None:  # type: ignore[no-untyped-def]
            settles.append(len(confirmed_at or {}))
            await settle(done, retry_at, now, receipts, confirmed_at)

        queue.record_published = counted_record  # type: ignore[method-assign]
        queue.settle = counted_settle  # type: ignore[method-assign]
        relay = OutboxRelay(queue, transport, settle_linger_s=3600.0)
        await transport.ensure_participant(MEGLER)
        await relay.start()
        ids: list[str] = []

        async def delivered() -> bool:
            return transport.queue_depth("inbox", MEGLER) == len(ids)

        for _ in range(3):  # three commits, each published as a batch of its own
            ids += await store_messages(engine, BANK, MEGLER)
            relay.notify()
            await eventually(delivered)
        assert settles == []  # delivered, not recorded: the settle lingers
        assert set((await statuses(engine)).values()) == {"accepted"}
        await asyncio.wait_for(relay.stop(), 120)
        assert records == [] and settles == [3]  # no record of its own: the settle wrote all three
        assert set((await statuses(engine)).values()) == {"published"}
        assert await history(engine, ids[0]) == [("published", "relay")]
        assert await relay.backlog() == 0
        await transport.close()


async def test_a_settle_that_fails_still_records_the_deferred_publishes(database_url: str, caplog) -> None:  # type: ignore[no-untyped-def]
    # Recorded, a publish is not made again while this process lives, even though its settle failed.
    transport = InProcessTransport()
    await transport.start()
    async with broker_engine(database_url) as engine:
        relay = OutboxRelay(outbox_queue(engine), transport, settle_linger_s=0.01)
        settler = relay._settler
        receipts = settler._receipts

        async def failing_once(taken, recording=()):  # type: ignore[no-untyped-def]
            settler._receipts = receipts  # type: ignore[method-assign]
            raise RuntimeError("a fault in the settle")

        settler._receipts = failing_once  # type: ignore[method-assign]
        await transport.ensure_participant(MEGLER)
        await relay.start()
        try:
            ids = await store_messages(engine, BANK, MEGLER, count=2)
            relay.notify()

            async def recorded() -> bool:
                return set((await statuses(engine)).values()) == {"published"}

            await eventually(recorded)
            assert transport.queue_depth("inbox", MEGLER) == len(ids)
            assert "settle failed" in caplog.text
        finally:
            await relay.stop()
            await transport.close()
