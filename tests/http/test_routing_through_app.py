"""The app's relay delivers accepted messages to the recipient's inbox and receipts to the sender,
in-process and (with a broker of its own name prefix) over the real RabbitMQ with PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from broker.app import create_app
from broker.app_keys import SERVICES
from broker.routing.inprocess import InProcessTransport
from broker.routing.receipt_batches import receipts_in
from broker.routing.transport import DEFAULT_DELIVERY_LIMIT, Delivery, Transport
from broker.xml.pki import TestPki
from tests.http.conftest import BANK, MEGLER, Broker, broker_settings, register_demo
from tests.routing.transports import rabbitmq_transport

WAIT_S = 30.0  # generous: the suite shares two cores with everything else


class Collector:
    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.changed = asyncio.Event()

    async def __call__(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        await delivery.ack()
        self.changed.set()

    async def until(self, predicate: Any) -> None:
        async with asyncio.timeout(WAIT_S):
            while not predicate(self.deliveries):
                self.changed.clear()
                await self.changed.wait()


async def _exchange(broker: Broker, transport: Transport) -> None:
    await transport.ensure_participant(MEGLER)
    await transport.ensure_participant(BANK)
    inbox, receipts = Collector(), Collector()
    await transport.consume(MEGLER, inbox)
    await transport.consume_events(BANK, receipts)

    document = broker.signed("intensjonFraBank")
    sent = await (await broker.send(BANK, document)).json()
    await inbox.until(lambda items: len(items) == 1)
    delivered = inbox.deliveries[0]
    assert delivered.body == document
    assert delivered.message_id == sent["id"]
    assert delivered.routing_key == f"{MEGLER}.intensjonFraBank"
    assert delivered.headers["sender"] == BANK

    megler = await broker.headers(MEGLER)
    await broker.client.get(f"/api/v1/messages/{sent['id']}/content", headers=megler)
    await broker.client.post(f"/api/v1/messages/{sent['id']}/confirm", headers=megler)

    def statuses(items: list[Delivery]) -> set[str]:
        return {r["status"] for item in items for r in receipts_in(item.body)}

    await receipts.until(lambda items: {"accepted", "published", "downloaded", "confirmed"} <= statuses(items))
    assert all(r["messageId"] == sent["id"] for item in receipts.deliveries for r in receipts_in(item.body))
    assert all(item.body.startswith(b"[") for item in receipts.deliveries)  # one shape: an array of receipts


async def test_in_process_delivery_and_receipts(aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> None:
    transport = InProcessTransport()
    settings = broker_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", test_pki)
    app = create_app(settings, transport=transport)
    client = await aiohttp_client(app)
    await register_demo(app[SERVICES], test_pki)
    await _exchange(Broker(client, test_pki), transport)


@pytest.mark.rabbitmq
@pytest.mark.postgres
async def test_rabbitmq_and_postgres_delivery_and_receipts(
    postgres_url: str, amqp_url: str, amqp_prefix: str, aiohttp_client: Any, tmp_path: Path, test_pki: TestPki
) -> None:
    settings = broker_settings(tmp_path, postgres_url, test_pki, amqp_url=amqp_url, amqp_prefix=amqp_prefix)
    app = create_app(settings)
    client = await aiohttp_client(app)
    await register_demo(app[SERVICES], test_pki)
    # The participants' side: its own connection, and the clean-up of everything declared under the prefix.
    async with rabbitmq_transport(amqp_url, amqp_prefix, [BANK, MEGLER], DEFAULT_DELIVERY_LIMIT) as consumer_side:
        await _exchange(Broker(client, test_pki), consumer_side)
