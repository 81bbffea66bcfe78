"""End to end over the real services: producers → outbox (PostgreSQL) → relays → RabbitMQ → consumers.

Every test counts by message id: delivered once or more, handled (its effect applied) exactly once,
published by the relays exactly once when nothing fails, and every status reaches ``published``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import aio_pika
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.routing.dead_letters import DeadLetterWatcher
from broker.routing.rabbitmq import RabbitMqTransport
from broker.routing.receipt_batches import receipts_in
from broker.routing.relay import OutboxRelay
from broker.routing.transport import Delivery, OutgoingMessage
from participants.sdk.consumer import InboxConsumer
from participants.sdk.dedup import DedupStore
from tests.routing.outages import close_connections
from tests.routing.rows import (
    BANK,
    KARTVERKET,
    MEGLER,
    broker_engine,
    eventually,
    history,
    outbox_queue,
    statuses,
    store_messages,
)
from tests.routing.transports import Collector, delete_topology, rabbitmq_transport

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres, pytest.mark.slow]

RECIPIENTS = (MEGLER, KARTVERKET, "910000004")
SENDERS = (BANK, "910000005", "910000006", "910000007")
ALL = RECIPIENTS + SENDERS


class CountingTransport(RabbitMqTransport):
    """Counts every confirmed publish per (exchange, message id), each receipt of a receipt batch on its own,
    to prove no row is published twice."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.confirmed: Counter[tuple[str, str]] = Counter()

    async def publish(self, batch: Sequence[OutgoingMessage]) -> None:
        await super().publish(batch)
        for message in batch:
            if message.exchange == "events":
                self.confirmed.update(("events", r["messageId"]) for r in receipts_in(message.body))
            else:
                self.confirmed[("messages", message.message_id)] += 1


class Effects:
    """The recipients' side effects, counted per message id."""

    def __init__(self) -> None:
        self.applied: Counter[str] = Counter()

    async def __call__(self, delivery: Delivery) -> None:
        self.applied[delivery.message_id] += 1


@asynccontextmanager
async def consumers(
    url: str, prefix: str, tmp_path: Path, effects: Effects, name: str
) -> AsyncIterator[list[InboxConsumer]]:
    """One participant process per recipient: its own connection and its own dedup store."""
    async with AsyncExitStack() as stack:
        running = []
        for orgnr in RECIPIENTS:
            transport = await stack.enter_async_context(
                rabbitmq_transport(url, prefix, ALL, cleanup=False, connection_name=f"{name}-{orgnr}")
            )
            store = DedupStore(f"sqlite+aiosqlite:///{tmp_path / f'handled-{orgnr}.db'}")
            stack.push_async_callback(store.close)
            consumer = InboxConsumer(transport, orgnr, effects, store, prefetch=32)
            await consumer.start()
            stack.push_async_callback(consumer.stop)
            running.append(consumer)
        yield running


async def produce(
    engine: AsyncEngine, relays: Sequence[OutboxRelay], total: int, chunk: int = 20, pause: float = 0.0
) -> list[str]:
    """Four producers commit ``total`` messages (message + outbox row per transaction chunk) to three recipients.

    ``pause`` between chunks stretches the flow, so that an outage lands in the middle of it.
    """

    async def producer(n: int) -> list[str]:
        ids: list[str] = []
        for i in range(total // len(SENDERS) // chunk):
            ids += await store_messages(engine, SENDERS[n], RECIPIENTS[(n + i) % len(RECIPIENTS)], count=chunk)
            for relay in relays:
                relay.notify()
            await asyncio.sleep(pause)
        return ids

    batches = await asyncio.gather(*(producer(n) for n in range(len(SENDERS))))
    return [i for batch in batches for i in batch]


async def all_published(engine: AsyncEngine, relays: Sequence[OutboxRelay], expected: int) -> bool:
    if await relays[0].backlog() > 0:
        return False
    found = await statuses(engine)
    return len(found) == expected and set(found.values()) == {"published"}


async def test_two_thousand_messages_from_four_producers_arrive_once_each(
    postgres_url: str, amqp_url: str, amqp_prefix: str, tmp_path: Path
) -> None:
    effects = Effects()
    async with (
        broker_engine(postgres_url) as engine,
        rabbitmq_transport(amqp_url, amqp_prefix, ALL, connection_name=f"{amqp_prefix}-broker") as transport,
        consumers(amqp_url, amqp_prefix, tmp_path, effects, f"{amqp_prefix}-participant") as running,
    ):
        relay = OutboxRelay(outbox_queue(engine), transport, batch_size=200)
        await relay.start()
        started = time.perf_counter()
        ids = await produce(engine, [relay], 2000)

        async def delivered() -> bool:
            return sum(c.handled for c in running) == len(ids)

        produced = time.perf_counter() - started
        await eventually(lambda: all_published(engine, [relay], len(ids)), within=60)
        published = time.perf_counter() - started
        await eventually(delivered, within=60)
        elapsed = time.perf_counter() - started
        await relay.stop()
        print(
            f"\n2000 messages: stored in {produced:.2f} s, published in {published:.2f} s, "
            f"handled in {elapsed:.2f} s ({len(ids) / elapsed:.0f} msg/s end to end)"
        )
        assert set(effects.applied) == set(ids)
        assert set(effects.applied.values()) == {1}
        assert await history(engine, ids[0]) == [("published", "relay")]


async def test_consumers_and_relay_resume_after_the_server_closes_every_connection(
    postgres_url: str, amqp_url: str, amqp_prefix: str, tmp_path: Path
) -> None:
    effects = Effects()
    async with (
        broker_engine(postgres_url) as engine,
        rabbitmq_transport(amqp_url, amqp_prefix, ALL, connection_name=f"{amqp_prefix}-broker") as transport,
        consumers(amqp_url, amqp_prefix, tmp_path, effects, f"{amqp_prefix}-participant"),
    ):
        relay = OutboxRelay(outbox_queue(engine), transport, batch_size=100, retry_base_s=0.1, retry_max_s=1.0)
        await relay.start()
        production = asyncio.create_task(produce(engine, [relay], 2000, chunk=10, pause=0.2))

        async def flowing() -> bool:
            return len(effects.applied) >= 300

        await eventually(flowing, within=30)
        cut_at = time.perf_counter()  # the outage starts with the listing of the connections to close
        closed = await close_connections(amqp_prefix)
        closing_took = time.perf_counter() - cut_at
        handled_at_cut = len(effects.applied)
        assert closed == 1 + len(RECIPIENTS)
        assert not production.done(), "the outage must land while messages still flow"

        async def resumed() -> bool:
            return len(effects.applied) > handled_at_cut + 50

        await eventually(resumed, within=10)
        resumed_after = time.perf_counter() - cut_at
        ids = await production

        async def delivered() -> bool:
            return len(effects.applied) == len(ids)

        await eventually(delivered, within=60)
        await eventually(lambda: all_published(engine, [relay], len(ids)), within=30)
        await relay.stop()
        print(
            f"\nconsumers resumed {resumed_after:.2f} s after the outage began ({closing_took:.2f} s of it rabbitmqctl)"
        )
        assert transport.healthy()
        assert set(effects.applied) == set(ids)
        assert set(effects.applied.values()) == {1}  # redeliveries were recognised, no effect applied twice


async def test_two_relays_publish_each_row_exactly_once(
    postgres_url: str, amqp_url: str, amqp_prefix: str, tmp_path: Path
) -> None:
    effects = Effects()
    async with (
        broker_engine(postgres_url) as engine,
        consumers(amqp_url, amqp_prefix, tmp_path, effects, f"{amqp_prefix}-participant"),
    ):
        transports = [
            CountingTransport(amqp_url, prefix=amqp_prefix, delivery_limit=2, connection_name=f"{amqp_prefix}-r{n}")
            for n in range(2)
        ]
        for transport in transports:
            await transport.start()
        relays = [OutboxRelay(outbox_queue(engine), transport, batch_size=50) for transport in transports]
        for relay in relays:
            await relay.start()

        async def delivered() -> bool:
            return len(effects.applied) == len(ids)

        try:
            ids = await produce(engine, relays, 1000)
            await eventually(lambda: all_published(engine, relays, len(ids)), within=60)
            await eventually(delivered, within=30)  # before the topology goes, which cancels the consumers
        finally:
            for relay in relays:
                await relay.stop()
            for transport in transports:
                await transport.close()
            await delete_topology(amqp_url, transports[0].topology, ALL)
        confirmed = transports[0].confirmed + transports[1].confirmed
        assert all(transport.confirmed for transport in transports), "both relays took part"
        assert {key for key in confirmed if key[0] == "messages"} == {("messages", i) for i in ids}
        assert {key for key in confirmed if key[0] == "events"} == {("events", i) for i in ids}
        assert set(confirmed.values()) == {1}
        # One outbox row per message; its receipt is published before the settle, not queued as a row.
        assert sum(r.published_count for r in relays) == len(ids)


async def test_a_message_its_recipient_always_fails_on_is_dead_lettered(
    postgres_url: str, amqp_url: str, amqp_prefix: str, tmp_path: Path
) -> None:
    async def always_fails(delivery: Delivery) -> None:
        raise RuntimeError("the case system rejects everything")

    async with (
        broker_engine(postgres_url) as engine,
        rabbitmq_transport(amqp_url, amqp_prefix, ALL, connection_name=f"{amqp_prefix}-broker") as transport,
        rabbitmq_transport(
            amqp_url, amqp_prefix, ALL, cleanup=False, connection_name=f"{amqp_prefix}-megler"
        ) as participant,
    ):
        relay = OutboxRelay(outbox_queue(engine), transport)
        watcher = DeadLetterWatcher(engine, transport, on_event=relay.notify)
        await relay.start()
        await watcher.start()
        store = DedupStore(f"sqlite+aiosqlite:///{tmp_path / 'handled.db'}")
        consumer = InboxConsumer(participant, MEGLER, always_fails, store)
        await consumer.start()
        receipts = Collector()
        subscription = await transport.consume_events(BANK, receipts)
        [message_id] = await store_messages(engine, BANK, MEGLER)
        relay.notify()

        async def dead_lettered() -> bool:
            return (await statuses(engine))[message_id] == "dead_lettered"

        await eventually(dead_lettered, within=20)
        await receipts.wait_for(2)
        assert [r.routing_key for r in receipts.deliveries] == [f"{BANK}.published", f"{BANK}.dead_lettered"]
        steps = await history(engine, message_id)
        assert steps == [("published", "relay"), ("dead_lettered", "broker")]
        assert consumer.failed == participant.topology.delivery_limit + 1
        await consumer.stop()
        await subscription.cancel()
        await watcher.stop()
        await relay.stop()
        await store.close()

        connection = await aio_pika.connect(amqp_url)
        channel = await connection.channel()
        dead = await channel.declare_queue(participant.topology.dead_queue(MEGLER), passive=True)
        assert dead.declaration_result.message_count == 1
        await connection.close()
