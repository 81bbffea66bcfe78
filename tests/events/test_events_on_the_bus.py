"""File-transfer events reach each party's events queue as CloudEvents, one per event, through the outbox relay."""

from __future__ import annotations

import json
import uuid

import pytest

from broker.events.altinn_event import AltinnEventType, SubjectRole, from_cloud_event
from broker.events.event_log import append_event
from broker.routing.relay import OutboxRelay
from broker.routing.transport import Delivery, Transport
from broker.store.unit_of_work import UnitOfWork
from tests.events.cloud_events import parsed
from tests.routing.conftest import transport  # noqa: F401  (both transports)
from tests.routing.rows import BANK, MEGLER, broker_engine, eventually, outbox_queue, store_messages

pytestmark = pytest.mark.usefixtures("transport")


async def test_every_event_reaches_its_party_as_a_cloud_event(database_url: str, transport: Transport) -> None:  # noqa: F811
    transfer = str(uuid.uuid4())
    steps = [
        (AltinnEventType.FILE_TRANSFER_INITIALIZED, BANK, SubjectRole.SENDER),
        (AltinnEventType.UPLOAD_PROCESSING, BANK, SubjectRole.SENDER),
        (AltinnEventType.PUBLISHED, BANK, SubjectRole.SENDER),
        (AltinnEventType.PUBLISHED, MEGLER, SubjectRole.RECIPIENT),
        (AltinnEventType.DOWNLOAD_CONFIRMED, BANK, SubjectRole.SENDER),
        (AltinnEventType.ALL_CONFIRMED_DOWNLOADED, BANK, SubjectRole.SENDER),
    ]
    received: dict[str, list[Delivery]] = {BANK: [], MEGLER: []}

    def collect(orgnr: str):
        async def on_event(delivery: Delivery) -> None:
            received[orgnr].append(delivery)
            await delivery.ack()

        return on_event

    async with broker_engine(database_url) as engine:
        await transport.consume_events(BANK, collect(BANK))
        await transport.consume_events(MEGLER, collect(MEGLER))
        appended = []
        for event_type, party, role in steps:
            async with UnitOfWork(engine) as uow:
                appended.append(
                    await append_event(
                        uow, event_type, resource_id="kv_dsve", file_transfer_id=transfer, party=party, role=role
                    )
                )
                await uow.commit()
        await store_messages(engine, MEGLER, BANK, count=2)  # native messages and their receipts share the bus
        relay = OutboxRelay(outbox_queue(engine), transport)
        while await relay.run_once():
            pass
        await relay.stop()

        def cloud_events(orgnr: str) -> list[Delivery]:
            return [d for d in received[orgnr] if ".filetransfer." in d.routing_key]

        async def all_there() -> bool:
            receipts = [d for d in received[MEGLER] if d not in cloud_events(MEGLER)]
            return len(cloud_events(BANK)) == 5 and len(cloud_events(MEGLER)) == 1 and len(receipts) >= 1

        await eventually(all_there, within=10.0)

    for orgnr in (BANK, MEGLER):
        cloud = cloud_events(orgnr)
        expected = [e for e in appended if e.party == orgnr]
        # Each is a structured-mode CloudEvent of its own (not joined into an array like receipts), in order.
        events = [parsed(d.body) for d in cloud]
        assert [p["id"] for p in events] == [e.id for e in expected]
        assert [p["type"] for p in events] == [e.type.value for e in expected]
        assert all(p["specversion"] == "1.0" and p["source"] == "/broker/api/v1/filetransfer" for p in events)
        assert [from_cloud_event(json.loads(d.body)) for d in cloud] == expected
        assert [d.routing_key for d in cloud] == [f"{orgnr}.filetransfer.{e.type.short_name}" for e in expected]
    to_recipient = parsed(cloud_events(MEGLER)[0].body)
    assert to_recipient["data"] == {"Role": "Recipient"} and to_recipient["resourceinstance"] == transfer
    # the receipts of the native messages still travel as arrays of receipts
    assert all(
        json.loads(d.body)[0]["status"] == "published" for d in received[MEGLER] if d not in cloud_events(MEGLER)
    )
