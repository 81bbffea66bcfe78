"""A settle that meets a database outage is written when the database answers again: the rows it settles
are not left to their lease (to be published a second time), and their receipts go out once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from broker.domain.clock import utc_now
from broker.routing.inprocess import InProcessTransport
from broker.routing.receipt_batches import receipts_in
from broker.routing.relay_publish import Publisher
from broker.routing.relay_settle import Settler
from broker.routing.transport import Delivery
from broker.store.engine import create_engine
from broker.store.kept_connections import KeptConnections
from broker.store.outbox_queue import OutboxQueue
from tests.fixtures.tcp_proxy import TcpProxy
from tests.routing.rows import BANK, MEGLER, broker_engine, eventually, statuses, store_messages

pytestmark = pytest.mark.postgres


async def test_a_settle_cut_off_from_the_database_is_written_when_it_returns(postgres_url: str) -> None:
    target = urlsplit(postgres_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    port = await proxy.start()
    proxied = create_engine(target._replace(netloc=f"{target.username}@127.0.0.1:{port}").geturl())
    transport = InProcessTransport()
    await transport.start()
    received: list[str] = []
    receipts: list[str] = []

    async def on_message(delivery: Delivery) -> None:
        received.append(delivery.message_id)
        await delivery.ack()

    async def on_event(delivery: Delivery) -> None:
        receipts.extend(entry["messageId"] for entry in receipts_in(delivery.body))
        await delivery.ack()

    async with broker_engine(postgres_url) as engine:
        queue = OutboxQueue(KeptConnections(proxied))
        publisher = Publisher(transport)
        settler = Settler(
            queue, publisher, backoff=lambda _: 0.1, wake_relay=lambda: None, linger_s=0.0, batch_size=200
        )
        try:
            for orgnr in (MEGLER, BANK):
                await transport.ensure_participant(orgnr)
            await transport.consume(MEGLER, on_message)
            await transport.consume_events(BANK, on_event)
            ids = await store_messages(engine, BANK, MEGLER, count=3)
            now = utc_now()
            published = await publisher.publish_messages(await queue.claim(10, now, now + timedelta(seconds=30)))
            assert len(published.done) == 3
            settler.start()

            await proxy.cut()  # the database is away between the confirms and the settle
            settler.add(published)
            await asyncio.sleep(1.0)
            assert set((await statuses(engine)).values()) == {"accepted"}

            await proxy.start()

            async def settled() -> bool:
                return set((await statuses(engine)).values()) == {"published"}

            await eventually(settled, within=10.0)
            await asyncio.sleep(0.3)
            assert sorted(received) == sorted(ids) and sorted(receipts) == sorted(ids)  # each once
        finally:
            await settler.stop(5.0)
            await queue.close()
            await transport.close()
            await proxied.dispose()
            await proxy.close()
