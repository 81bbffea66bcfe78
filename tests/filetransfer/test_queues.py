"""A published transfer reaches each recipient on its own queue (one notice per recipient, through the
outbox and relay), in-process on SQLite and over RabbitMQ with PostgreSQL; each confirms independently."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from broker.app import TRANSPORT
from broker.routing.transport import DEFAULT_DELIVERY_LIMIT, Delivery, Transport
from broker.xml.pki import TestPki
from tests.filetransfer.conftest import BANK, BANK_2, BASE, MEGLER, READ, AltinnApi, start_altinn
from tests.routing.transports import rabbitmq_transport

WAIT_S = 30.0


class Inbox:
    def __init__(self) -> None:
        self.notices: list[dict[str, Any]] = []
        self.keys: list[str] = []
        self.arrived = asyncio.Event()

    async def __call__(self, delivery: Delivery) -> None:
        if delivery.headers.get("message-type") == "filetransfer":
            self.notices.append(json.loads(delivery.body))
            self.keys.append(delivery.routing_key)
            self.arrived.set()
        await delivery.ack()

    async def wait(self) -> dict[str, Any]:
        async with asyncio.timeout(WAIT_S):
            while not self.notices:
                self.arrived.clear()
                await self.arrived.wait()
        return self.notices[0]


async def _two_recipients(api: AltinnApi, transport: Transport) -> None:
    inboxes = {BANK: Inbox(), BANK_2: Inbox()}
    for orgnr, inbox in inboxes.items():
        await transport.ensure_participant(orgnr)
        await transport.consume(orgnr, inbox)
    data = b"PK\x03\x04" + bytes(range(256)) * 40
    transfer_id = await api.new_transfer(MEGLER, [BANK, BANK_2], data)
    for orgnr, inbox in inboxes.items():
        notice = await inbox.wait()
        assert notice["fileTransferId"] == transfer_id
        assert notice["recipient"] == f"0192:{orgnr}"
        assert notice["sender"] == f"0192:{MEGLER}"
        assert notice["fileTransferSize"] == len(data)
        assert inbox.keys == [f"{orgnr}.filetransfer"]
    for orgnr in (BANK, BANK_2):
        headers = await api.auth(orgnr, READ)
        assert await (await api.client.get(f"{BASE}/{transfer_id}/download", headers=headers)).read() == data
        assert (await api.client.post(f"{BASE}/{transfer_id}/confirmdownload", headers=headers)).status == 200
        expected = "AllConfirmedDownloaded" if orgnr == BANK_2 else "Published"
        assert (await api.overview(MEGLER, transfer_id))["fileTransferStatus"] == expected


async def test_in_process_one_notice_per_recipient(aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> None:
    api = await start_altinn(aiohttp_client, tmp_path, test_pki, f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    await _two_recipients(api, api.client.app[TRANSPORT])


@pytest.mark.rabbitmq
@pytest.mark.postgres
async def test_rabbitmq_and_postgres_one_queue_per_recipient(
    postgres_url: str, amqp_url: str, amqp_prefix: str, aiohttp_client: Any, tmp_path: Path, test_pki: TestPki
) -> None:
    api = await start_altinn(
        aiohttp_client, tmp_path, test_pki, postgres_url, amqp_url=amqp_url, amqp_prefix=amqp_prefix
    )
    async with rabbitmq_transport(amqp_url, amqp_prefix, [BANK, BANK_2, MEGLER], DEFAULT_DELIVERY_LIMIT) as consumer:
        await _two_recipients(api, consumer)


@pytest.mark.rabbitmq
@pytest.mark.postgres
async def test_altinn_flow_on_rabbitmq_and_postgres(
    postgres_url: str, amqp_url: str, amqp_prefix: str, aiohttp_client: Any, tmp_path: Path, test_pki: TestPki
) -> None:
    """The request collection's flow (tests/filetransfer/test_flow.py and test_tus.py) against the cluster setup."""
    from tests.filetransfer.test_flow import test_multipart_initialize_and_upload, test_whole_flow_with_two_recipients
    from tests.filetransfer.test_tus import test_create_head_patch_resume_and_publish

    api = await start_altinn(
        aiohttp_client, tmp_path, test_pki, postgres_url, amqp_url=amqp_url, amqp_prefix=amqp_prefix
    )
    async with rabbitmq_transport(amqp_url, amqp_prefix, [BANK, BANK_2, MEGLER], DEFAULT_DELIVERY_LIMIT):
        await test_whole_flow_with_two_recipients(api)
        await test_multipart_initialize_and_upload(api)
        await test_create_head_patch_resume_and_publish(api)
