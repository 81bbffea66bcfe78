"""Batch publishing on a real RabbitMQ: every message confirmed or failed on its own, the channel's
delivery tags kept in step with the server's, also when a batch fails before it is written."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aio_pika
import pytest
from aiormq.exceptions import ChannelInvalidStateError, DeliveryError, PublishError
from pamqp.commands import Basic

from broker.routing.batch_publish import BatchMessage, publish_batch

pytestmark = pytest.mark.rabbitmq


@dataclass
class Bench:
    channel: aio_pika.abc.AbstractChannel
    exchange: str
    queue: aio_pika.abc.AbstractQueue
    full_queue: aio_pika.abc.AbstractQueue


@pytest.fixture
async def bench(amqp_url: str, amqp_prefix: str) -> AsyncIterator[Bench]:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.declare_exchange(f"{amqp_prefix}.x", aio_pika.ExchangeType.TOPIC, auto_delete=True)
        queue = await channel.declare_queue(f"{amqp_prefix}.q", auto_delete=True)
        await queue.bind(exchange, "to.queue")
        # Holds one message and refuses (nacks) the next ones.
        full = await channel.declare_queue(
            f"{amqp_prefix}.full", auto_delete=True, arguments={"x-max-length": 1, "x-overflow": "reject-publish"}
        )
        await full.bind(exchange, "to.full")
        yield Bench(channel, exchange.name, queue, full)
    finally:
        await connection.close()


def _message(bench: Bench, key: str, body: bytes, number: int) -> BatchMessage:
    return BatchMessage(bench.exchange, key, body, f"m{number}", "application/xml", {"n": str(number)})


async def _outcomes(futures: list[asyncio.Future[object]]) -> list[object]:
    return list(await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), 10))


async def _drain(queue: aio_pika.abc.AbstractQueue, count: int) -> list[aio_pika.abc.AbstractIncomingMessage]:
    got = []
    for _ in range(count):
        message = await queue.get(timeout=5, fail=True)
        assert message is not None
        await message.ack()
        got.append(message)
    return got


async def test_a_batch_arrives_in_order_with_its_properties_and_bodies_larger_than_a_frame(bench: Bench) -> None:
    channel = await bench.channel.get_underlay_channel()
    large = bytes(range(256)) * 2000  # 512 KB: several body frames at the default frame size
    bodies = [b"<a/>", large, b"", b"<c/>"]
    futures = await publish_batch(channel, [_message(bench, "to.queue", body, i) for i, body in enumerate(bodies)])
    outcomes = await _outcomes(futures)
    assert all(isinstance(outcome, Basic.Ack) for outcome in outcomes), outcomes
    got = await _drain(bench.queue, len(bodies))
    assert [m.body for m in got] == bodies
    assert [m.message_id for m in got] == ["m0", "m1", "m2", "m3"]
    assert {m.content_type for m in got} == {"application/xml"}
    assert {m.delivery_mode for m in got} == {aio_pika.DeliveryMode.PERSISTENT}
    assert [m.headers["n"] for m in got] == ["0", "1", "2", "3"]


async def test_each_message_gets_its_own_answer_returned_nacked_or_confirmed(bench: Bench) -> None:
    channel = await bench.channel.get_underlay_channel()
    batch = [
        _message(bench, "to.queue", b"<ok/>", 0),
        _message(bench, "nowhere", b"<lost/>", 1),  # no queue bound: returned
        _message(bench, "to.full", b"<first/>", 2),
        _message(bench, "to.full", b"<refused/>", 3),  # the queue is full: nacked
        _message(bench, "to.queue", b"<ok-too/>", 4),
    ]
    outcomes = await _outcomes(await publish_batch(channel, batch))
    assert isinstance(outcomes[0], Basic.Ack)
    assert isinstance(outcomes[1], PublishError)
    assert isinstance(outcomes[2], Basic.Ack)
    assert isinstance(outcomes[3], DeliveryError)
    assert isinstance(outcomes[4], Basic.Ack)
    assert [m.body for m in await _drain(bench.queue, 2)] == [b"<ok/>", b"<ok-too/>"]
    assert not channel.message_id_delivery_tag  # every id-to-tag entry is forgotten once answered


async def test_a_batch_that_fails_before_it_is_written_leaves_the_tags_in_step(bench: Bench) -> None:
    channel = await bench.channel.get_underlay_channel()
    first = await _outcomes(await publish_batch(channel, [_message(bench, "to.queue", b"<1/>", 1)]))
    assert isinstance(first[0], Basic.Ack)
    tag, waiting = channel.delivery_tag, dict(channel.confirmations)
    unencodable = BatchMessage(bench.exchange, "to.queue", b"<x/>", "m9", "application/xml", {"bad": object()})
    with pytest.raises(TypeError):
        await publish_batch(channel, [_message(bench, "to.queue", b"<2/>", 2), unencodable])
    assert channel.delivery_tag == tag
    assert channel.confirmations == waiting
    # Had a tag been lost, the server's acks would now answer the wrong publishes and these would hang.
    later = await _outcomes(await publish_batch(channel, [_message(bench, "to.queue", b"<3/>", i) for i in (3, 4)]))
    assert all(isinstance(outcome, Basic.Ack) for outcome in later)
    assert [m.body for m in await _drain(bench.queue, 3)] == [b"<1/>", b"<3/>", b"<3/>"]


async def test_a_closed_channel_or_one_without_confirms_is_refused(amqp_url: str, bench: Bench) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        plain = await (await connection.channel(publisher_confirms=False)).get_underlay_channel()
        with pytest.raises(ChannelInvalidStateError):
            await publish_batch(plain, [_message(bench, "to.queue", b"<a/>", 0)])
        closing = await connection.channel()
        channel = await closing.get_underlay_channel()
        await closing.close()
        with pytest.raises(ChannelInvalidStateError):
            await publish_batch(channel, [_message(bench, "to.queue", b"<a/>", 0)])
    finally:
        await connection.close()
