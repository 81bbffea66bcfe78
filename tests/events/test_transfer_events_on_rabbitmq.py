"""A transfer over RabbitMQ and PostgreSQL: each party's events queue gets every event the event log has for
it, each as one structured-mode CloudEvent, in order."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from broker.events.event_log import events_of_transfer
from broker.routing.transport import DEFAULT_DELIVERY_LIMIT, Delivery
from broker.xml.pki import TestPki
from tests.events.cloud_events import parsed
from tests.filetransfer.conftest import BANK, BANK_2, BASE, MEGLER, READ, start_altinn
from tests.routing.rows import eventually
from tests.routing.transports import rabbitmq_transport


@pytest.mark.rabbitmq
@pytest.mark.postgres
async def test_every_event_of_a_transfer_reaches_each_partys_events_queue(
    postgres_url: str, amqp_url: str, amqp_prefix: str, aiohttp_client: Any, tmp_path: Path, test_pki: TestPki
) -> None:
    api = await start_altinn(
        aiohttp_client, tmp_path, test_pki, postgres_url, amqp_url=amqp_url, amqp_prefix=amqp_prefix
    )
    parties = (MEGLER, BANK, BANK_2)
    received: dict[str, list[dict[str, Any]]] = {orgnr: [] for orgnr in parties}

    def collect(orgnr: str) -> Any:
        async def on_event(delivery: Delivery) -> None:
            if ".filetransfer." in delivery.routing_key:
                received[orgnr].append(parsed(delivery.body))
            await delivery.ack()

        return on_event

    async with rabbitmq_transport(amqp_url, amqp_prefix, parties, DEFAULT_DELIVERY_LIMIT) as bus:
        for orgnr in parties:
            await bus.ensure_participant(orgnr)
            await bus.consume_events(orgnr, collect(orgnr))
        transfer = await api.new_transfer(MEGLER, [BANK, BANK_2], os.urandom(20_000))
        for orgnr in (BANK, BANK_2):
            headers = await api.auth(orgnr, READ)
            assert (await api.client.get(f"{BASE}/{transfer}/download", headers=headers)).status == 200
            assert (await api.client.post(f"{BASE}/{transfer}/confirmdownload", headers=headers)).status == 200
        async with api.broker.services.engine.connect() as conn:
            logged = {orgnr: await events_of_transfer(conn, transfer, party=orgnr) for orgnr in parties}

        async def all_there() -> bool:
            return all(len(received[o]) >= len(logged[o]) for o in parties)

        await eventually(all_there, within=20.0)
    for orgnr in parties:
        assert [e["id"] for e in received[orgnr]] == [e.id for e in logged[orgnr]]
        assert received[orgnr] == [{**e.cloud_event(), "time": e.time, "data": e.data()} for e in logged[orgnr]]
    assert [e["type"] for e in received[MEGLER]][-1] == "no.altinn.broker.allconfirmeddownloaded"
    assert {e["type"] for e in received[BANK]} >= {"no.altinn.broker.published"}
