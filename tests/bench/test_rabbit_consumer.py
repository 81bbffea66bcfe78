"""The load generator's consumers on a real RabbitMQ: every delivery counted and, in the end, acknowledged.

They acknowledge in batches (one ``multiple`` ack per window), so a broken ack would not show in a short run:
more messages than the prefetch (500) stall unless acks go out, and a queue that still holds messages after
the consumers close (unacked ones are requeued) means some were never acknowledged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aio_pika
import pytest

from bench.common import HEADER_SENDER_REFERENCE, RECIPIENTS, Tally, delete_topology
from bench.rabbit_consumer import rabbit_consumer
from broker.routing.topology import Topology

pytestmark = pytest.mark.rabbitmq

MESSAGES = 1_200  # more than twice the prefetch


@pytest.fixture
async def topology(amqp_url: str, amqp_prefix: str) -> AsyncIterator[Topology]:
    yield Topology(amqp_prefix)
    await delete_topology(amqp_url, amqp_prefix)


async def _publish(amqp_url: str, topology: Topology, count: int) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(topology.messages_exchange)
        await asyncio.gather(
            *(
                exchange.publish(
                    aio_pika.Message(b"<m/>", headers={HEADER_SENDER_REFERENCE: f"ref-{n}"}),
                    routing_key=f"{RECIPIENTS[n % len(RECIPIENTS)]}.pantedokument",
                )
                for n in range(count)
            )
        )
    finally:
        await connection.close()


async def _ready_messages(amqp_url: str, topology: Topology) -> int:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        total = 0
        for orgnr in RECIPIENTS:
            queue = await channel.declare_queue(topology.inbox_queue(orgnr), passive=True)
            total += queue.declaration_result.message_count or 0
        return total
    finally:
        await connection.close()


async def test_every_delivery_is_counted_and_acknowledged(amqp_url: str, topology: Topology) -> None:
    tally = Tally()
    close = await rabbit_consumer(amqp_url, topology.prefix, tally)
    try:
        await _publish(amqp_url, topology, MESSAGES)
        deadline = time.monotonic() + 30
        while len(tally.delivered_at) < MESSAGES and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert len(tally.delivered_at) == MESSAGES
        assert set(tally.delivered_at) == {f"ref-{n}" for n in range(MESSAGES)}
        await asyncio.sleep(0.2)  # past the last ack window
    finally:
        await close()
    assert await _ready_messages(amqp_url, topology) == 0
