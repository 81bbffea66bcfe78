"""A transfer through the Altinn-compatible API, end to end: every event of it reaches the subscribed
receivers as signed CloudEvents, also after the receiver was down while the transfer went through."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from broker.events.altinn_event import AltinnEventType
from broker.events.event_log import events_of_transfer
from broker.xml.pki import TestPki
from tests.events.receiver import Receiver
from tests.filetransfer.conftest import BANK, BANK_2, BASE, MEGLER, READ, AltinnApi, md5, start_altinn
from tests.routing.rows import eventually

SUBSCRIPTIONS = "/events/api/v1/subscriptions"


async def _subscribe(api: AltinnApi, receiver: Receiver, orgnr: str) -> None:
    path = f"/{orgnr}"
    body = {"endPoint": receiver.url(path), "resourceFilter": "urn:altinn:resource:kv_dsve"}
    response = await api.client.post(SUBSCRIPTIONS, json=body, headers=await api.auth(orgnr))
    assert response.status == 201, await response.text()
    receiver.secrets[path] = (await response.json())["secret"]


async def test_every_event_of_a_transfer_reaches_the_webhooks(
    database_url: str, aiohttp_client: Any, tmp_path: Path, test_pki: TestPki
) -> None:
    api = await start_altinn(
        aiohttp_client,
        tmp_path,
        test_pki,
        database_url,
        webhook_allow_loopback=True,
        webhook_poll_interval_s=0.05,
        webhook_retry_base_s=0.05,
        webhook_retry_max_s=0.3,
        webhook_max_attempts=100,
    )
    receiver = Receiver()
    for orgnr in (MEGLER, BANK, BANK_2):
        await _subscribe(api, receiver, orgnr)

    # The receiver is down while the transfer goes through its whole life.
    data = os.urandom(50_000)
    transfer = await api.new_transfer(MEGLER, [BANK, BANK_2], data)
    for orgnr in (BANK, BANK_2):
        headers = await api.auth(orgnr, READ)
        assert (await api.client.get(f"{BASE}/{transfer}/download", headers=headers)).status == 200
        assert (await api.client.post(f"{BASE}/{transfer}/confirmdownload", headers=headers)).status == 200
    await asyncio.sleep(0.3)
    await receiver.up()
    try:
        async with api.broker.services.engine.connect() as conn:
            logged = {o: await events_of_transfer(conn, transfer, party=o) for o in (MEGLER, BANK, BANK_2)}

        async def all_delivered() -> bool:
            return all(len(receiver.events.get(f"/{o}", [])) == len(logged[o]) for o in logged)

        await eventually(all_delivered, within=20.0)
    finally:
        await receiver.down()

    sender_types = [e.type for e in logged[MEGLER]]
    assert sender_types[0] == AltinnEventType.FILE_TRANSFER_INITIALIZED
    assert AltinnEventType.PUBLISHED in sender_types
    assert sender_types[-1] == AltinnEventType.ALL_CONFIRMED_DOWNLOADED
    assert AltinnEventType.PUBLISHED in [e.type for e in logged[BANK]]
    for orgnr, expected in logged.items():
        got = receiver.events[f"/{orgnr}"]
        assert [e["id"] for e in got] == [e.id for e in expected]  # each once, in order
        assert got == [{**e.cloud_event(), "time": e.time, "data": e.data()} for e in expected]
        assert {e["resourceinstance"] for e in got} == {transfer}
        assert {e["subject"] for e in got} == {f"/organisation/{orgnr}"}
    assert md5(data)  # the transfer carried real bytes
