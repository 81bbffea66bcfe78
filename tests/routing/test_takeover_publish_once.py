"""A relay that dies after RabbitMQ confirmed its batch: what the relay taking its rows over publishes again.

The publish is recorded (the messages ``published``, with their history) the moment the confirms arrive, before
the receipts and the settle of the outbox rows. A relay that dies after that record leaves rows the next one
settles, with their receipts, without publishing the messages a second time; one that dies between the
confirm and the record leaves rows whose publish nobody can know of, and they are published again (at least
once: never lost). Each copy names the relay that published it.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import sqlalchemy as sa

from broker.domain.clock import utc_now
from broker.routing.inprocess import InProcessTransport
from broker.routing.receipt_batches import receipts_in
from broker.routing.relay import OutboxRelay
from broker.routing.relay_publish import HEADER_PUBLISHED_BY, Publisher
from broker.routing.transport import Delivery
from broker.store import tables
from broker.store.relay_heartbeats import RelayHeartbeats
from tests.routing.rows import BANK, MEGLER, broker_engine, eventually, history, outbox_queue, statuses, store_messages


async def _dies_after_publishing(database_url: str, *, recorded: bool) -> None:
    transport = InProcessTransport()
    await transport.start()
    copies: Counter[str] = Counter()
    publishers: dict[str, list[str]] = {}
    receipts: Counter[str] = Counter()

    async def on_message(delivery: Delivery) -> None:
        copies[delivery.message_id] += 1
        publishers.setdefault(delivery.message_id, []).append(delivery.headers[HEADER_PUBLISHED_BY])
        await delivery.ack()

    async def on_event(delivery: Delivery) -> None:
        receipts.update(entry["messageId"] for entry in receipts_in(delivery.body) if entry["status"] == "published")
        await delivery.ack()

    async with broker_engine(database_url) as engine:
        dead, survivor_queue = outbox_queue(engine), outbox_queue(engine)
        survivor = OutboxRelay(survivor_queue, transport)
        try:
            for orgnr in (MEGLER, BANK):
                await transport.ensure_participant(orgnr)
            await transport.consume(MEGLER, on_message)
            await transport.consume_events(BANK, on_event)
            ids = await store_messages(engine, BANK, MEGLER, count=3)
            now = utc_now()
            claimed = await dead.claim(10, now, now + timedelta(seconds=30))
            published = await Publisher(transport, dead.owner).publish_messages(claimed)
            assert len(published.done) == 3
            if recorded:
                await dead.record_published({row.message_id: published.confirmed_at for row in published.done}, now)
            # ... and the relay dies here: no receipts, no settle. The survivor releases its rows (it never beat).
            assert await RelayHeartbeats(engine, survivor_queue.owner).take_over_orphans() == 3
            assert await survivor.run_once() == 3

            async def receipted() -> bool:
                return set(receipts) == set(ids) and await survivor.backlog() == 0

            await eventually(receipted)
            assert set((await statuses(engine)).values()) == {"published"}
            assert all(count == 1 for count in receipts.values())
            for message_id in ids:
                assert await history(engine, message_id) == [("published", "relay")]
            if recorded:
                assert copies == dict.fromkeys(ids, 1)
                assert all(names == [dead.owner] for names in publishers.values())
            else:
                assert copies == dict.fromkeys(ids, 2)
                assert all(names == [dead.owner, survivor_queue.owner] for names in publishers.values())
        finally:
            await survivor.stop()
            await dead.close()
            await transport.close()


async def test_a_publish_recorded_before_the_relay_died_is_settled_not_published_again(database_url: str) -> None:
    await _dies_after_publishing(database_url, recorded=True)


async def test_a_publish_the_relay_died_before_recording_is_published_again(database_url: str) -> None:
    await _dies_after_publishing(database_url, recorded=False)


async def test_a_message_queued_again_after_its_publish_is_published_again(database_url: str) -> None:
    """A console re-delivery writes a new outbox row for a message published long before: that earlier
    record is not this row's publish, so the row is published."""
    transport = InProcessTransport()
    await transport.start()
    copies: Counter[str] = Counter()

    async def on_message(delivery: Delivery) -> None:
        copies[delivery.message_id] += 1
        await delivery.ack()

    async with broker_engine(database_url) as engine:
        relay = OutboxRelay(outbox_queue(engine), transport)
        try:
            for orgnr in (MEGLER, BANK):
                await transport.ensure_participant(orgnr)
            await transport.consume(MEGLER, on_message)
            [message_id] = await store_messages(engine, BANK, MEGLER)
            async with engine.connect() as conn:
                row = (await conn.execute(sa.select(tables.outbox).where(tables.outbox.c.kind == "message"))).one()
            assert await relay.run_once() == 1
            async with engine.begin() as conn:
                assert await conn.scalar(sa.select(sa.func.count()).select_from(tables.outbox)) == 0  # published
                again = {**row._asdict(), "created_at": utc_now(), "lease_until": None}
                del again["id"]
                await conn.execute(sa.insert(tables.outbox).values(**again))
            assert await relay.run_once() >= 1
            await eventually(lambda: _delivered(copies, message_id, 2))
        finally:
            await relay.stop()
            await transport.close()


async def _delivered(copies: Counter[str], message_id: str, times: int) -> bool:
    return copies[message_id] == times
