"""One contract, two transports: everything the broker and the consumers rely on holds for both."""

from __future__ import annotations

import pytest

from broker.routing.transport import HEADER_DEATH_REASON, OutgoingMessage, PublishError, Transport
from tests.routing.conftest import DELIVERY_LIMIT
from tests.routing.rows import BANK, MEGLER
from tests.routing.transports import Collector


def message(n: int, recipient: str = MEGLER) -> OutgoingMessage:
    return OutgoingMessage(
        exchange="messages",
        routing_key=f"{recipient}.pantedokument",
        body=f"<pantedokument><n>{n}</n></pantedokument>".encode(),
        message_id=f"msg-{n}",
        headers={"message-type": "pantedokument", "sender": BANK, "recipient": recipient},
    )


async def test_published_messages_arrive_with_their_properties(transport: Transport) -> None:
    await transport.publish([message(n) for n in range(20)])
    collector = Collector()
    subscription = await transport.consume(MEGLER, collector, prefetch=4)
    deliveries = await collector.wait_for(20)
    assert [d.message_id for d in deliveries] == [f"msg-{n}" for n in range(20)]
    first = deliveries[0]
    assert first.body == b"<pantedokument><n>0</n></pantedokument>"
    assert first.routing_key == f"{MEGLER}.pantedokument"
    assert first.headers["sender"] == BANK and first.headers["message-type"] == "pantedokument"
    assert first.redelivered is False and first.delivery_count == 0
    assert await collector.stays_at(20)
    await subscription.cancel()


async def test_an_unroutable_message_raises_and_the_rest_are_delivered(transport: Transport) -> None:
    batch = [message(1), message(2, recipient="999999999"), message(3)]
    with pytest.raises(PublishError) as raised:
        await transport.publish(batch)
    assert list(raised.value.failed) == [1]
    assert "unroutable" in raised.value.failed[1]
    collector = Collector()
    subscription = await transport.consume(MEGLER, collector)
    assert [d.message_id for d in await collector.wait_for(2)] == ["msg-1", "msg-3"]
    await subscription.cancel()


async def test_a_requeued_message_comes_back_counted(transport: Transport) -> None:
    await transport.publish([message(1)])
    seen = Collector("hold")

    async def requeue_first(delivery) -> None:
        await seen(delivery)
        await delivery.reject(requeue=True) if len(seen.deliveries) == 1 else await delivery.ack()

    subscription = await transport.consume(MEGLER, requeue_first)
    [first, again] = await seen.wait_for(2)
    assert first.redelivered is False and first.delivery_count == 0
    assert again.message_id == "msg-1" and again.redelivered is True and again.delivery_count == 1
    assert await seen.stays_at(2)
    await subscription.cancel()


async def test_a_failing_handler_requeues(transport: Transport) -> None:
    await transport.publish([message(1)])
    failing = Collector("raise")
    subscription = await transport.consume(MEGLER, failing)
    deliveries = await failing.wait_for(2)
    assert deliveries[1].redelivered is True
    await subscription.cancel()


async def test_past_the_delivery_limit_a_message_is_dead_lettered(transport: Transport) -> None:
    await transport.publish([message(1), message(2)])
    always_failing = Collector("requeue")
    subscription = await transport.consume(MEGLER, always_failing)
    participant_dead, broker_dead = Collector(), Collector()
    dead_subscription = await transport.consume_dead_letters(MEGLER, participant_dead)
    broker_subscription = await transport.consume_dead_letters(None, broker_dead)
    [dead, _] = await participant_dead.wait_for(2)
    await broker_dead.wait_for(2)
    attempts = [d.message_id for d in always_failing.deliveries].count("msg-1")
    assert attempts == DELIVERY_LIMIT + 1
    assert dead.headers[HEADER_DEATH_REASON] == "delivery_limit"
    assert dead.routing_key == f"{MEGLER}.pantedokument"
    assert dead.body.startswith(b"<pantedokument>")
    assert await always_failing.stays_at(2 * (DELIVERY_LIMIT + 1))
    for sub in (subscription, dead_subscription, broker_subscription):
        await sub.cancel()


async def test_a_rejected_message_goes_straight_to_dead_letters(transport: Transport) -> None:
    await transport.publish([message(1)])
    refusing = Collector("drop")
    subscription = await transport.consume(MEGLER, refusing)
    dead = Collector()
    dead_subscription = await transport.consume_dead_letters(MEGLER, dead)
    [letter] = await dead.wait_for(1)
    assert letter.message_id == "msg-1" and letter.headers[HEADER_DEATH_REASON] == "rejected"
    assert len(refusing.deliveries) == 1
    await subscription.cancel()
    await dead_subscription.cancel()


async def test_prefetch_bounds_unsettled_deliveries(transport: Transport) -> None:
    await transport.publish([message(n) for n in range(10)])
    holding = Collector("hold")
    subscription = await transport.consume(MEGLER, holding, prefetch=3)
    await holding.wait_for(3)
    assert await holding.stays_at(3)
    await holding.deliveries[0].ack()
    await holding.wait_for(4)
    assert await holding.stays_at(4)
    await subscription.cancel()
    collector = Collector()
    subscription = await transport.consume(MEGLER, collector)
    deliveries = await collector.wait_for(9)  # the three left unsettled came back with the rest
    assert sorted(d.message_id for d in deliveries) == sorted(f"msg-{n}" for n in range(1, 10))
    await subscription.cancel()


async def test_events_reach_the_participant(transport: Transport) -> None:
    event = OutgoingMessage(
        exchange="events",
        routing_key=f"{BANK}.published",
        body=b'{"messageId":"msg-1","status":"published"}',
        message_id="msg-1",
        content_type="application/json",
    )
    await transport.publish([event])
    collector = Collector()
    subscription = await transport.consume_events(BANK, collector)
    [received] = await collector.wait_for(1)
    assert received.body == event.body and received.routing_key == f"{BANK}.published"
    await subscription.cancel()
    with pytest.raises(PublishError):
        await transport.publish([OutgoingMessage("events", "999999999.published", b"{}", "msg-2")])


async def test_transport_reports_health(transport: Transport) -> None:
    assert transport.healthy() is True
