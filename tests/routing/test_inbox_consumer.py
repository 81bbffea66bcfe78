"""The participant's inbox consumer on both transports: once per message id, failures mapped onto the bus."""

from __future__ import annotations

import asyncio

from broker.routing.transport import HEADER_DEATH_REASON, Delivery, OutgoingMessage, Transport
from participants.sdk.consumer import InboxConsumer, PermanentFailure
from participants.sdk.dedup import DedupStore
from tests.routing.conftest import DELIVERY_LIMIT
from tests.routing.rows import BANK, MEGLER, eventually
from tests.routing.transports import Collector


def message(message_id: str) -> OutgoingMessage:
    return OutgoingMessage("messages", f"{MEGLER}.pantedokument", b"<pantedokument/>", message_id, {"sender": BANK})


async def test_a_redelivered_message_is_handled_once(transport: Transport, tmp_path) -> None:
    store = DedupStore(f"sqlite+aiosqlite:///{tmp_path / 'handled.db'}")
    effects: list[str] = []
    confirmed: list[str] = []

    async def handle(delivery: Delivery) -> None:
        effects.append(delivery.message_id)

    async def confirm(message_id: str) -> None:
        confirmed.append(message_id)

    consumer = InboxConsumer(transport, MEGLER, handle, store, prefetch=4, on_handled=confirm)
    await consumer.start()
    await transport.publish([message("m-1"), message("m-2"), message("m-1")])  # m-1 twice, as after a lost ack

    async def settled() -> bool:
        return consumer.handled + consumer.duplicates == 3

    await eventually(settled)
    assert sorted(effects) == ["m-1", "m-2"] and consumer.duplicates == 1
    assert sorted(confirmed) == ["m-1", "m-2"]
    await consumer.stop()

    # The record survives a restart of the consumer: a later redelivery is still recognised.
    await store.close()
    restarted = InboxConsumer(transport, MEGLER, handle, store)
    await restarted.start()
    await transport.publish([message("m-2")])

    async def recognised() -> bool:
        return restarted.duplicates == 1

    await eventually(recognised)
    assert sorted(effects) == ["m-1", "m-2"]
    assert await store.count() == 2
    await restarted.stop()
    await store.close()


async def test_a_permanent_failure_is_dead_lettered_at_once(transport: Transport, tmp_path) -> None:
    store = DedupStore(f"sqlite+aiosqlite:///{tmp_path / 'handled.db'}")
    calls: list[int] = []

    async def refuse(delivery: Delivery) -> None:
        calls.append(delivery.delivery_count)
        raise PermanentFailure("unknown case")

    consumer = InboxConsumer(transport, MEGLER, refuse, store)
    await consumer.start()
    dead = Collector()
    subscription = await transport.consume_dead_letters(MEGLER, dead)
    await transport.publish([message("m-1")])
    [letter] = await dead.wait_for(1)
    assert letter.headers[HEADER_DEATH_REASON] == "rejected" and calls == [0]
    assert await store.count() == 0
    await subscription.cancel()
    await consumer.stop()
    await store.close()


async def test_a_transient_failure_is_retried_until_it_succeeds(transport: Transport, tmp_path) -> None:
    store = DedupStore(f"sqlite+aiosqlite:///{tmp_path / 'handled.db'}")
    attempts: list[int] = []

    async def flaky(delivery: Delivery) -> None:
        attempts.append(delivery.delivery_count)
        if len(attempts) < DELIVERY_LIMIT:
            raise ConnectionError("the case system is down")

    consumer = InboxConsumer(transport, MEGLER, flaky, store)
    await consumer.start()
    await transport.publish([message("m-1")])

    async def handled() -> bool:
        return consumer.handled == 1

    await eventually(handled)
    assert attempts == list(range(DELIVERY_LIMIT))
    await asyncio.sleep(0.2)
    assert consumer.handled == 1 and consumer.failed == DELIVERY_LIMIT - 1
    await consumer.stop()
    await store.close()
