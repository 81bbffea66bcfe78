"""The megler's side of e-tinglysing over the broker's Altinn-compatible file transfer, for the tests: a broker
with the ``kv_etinglysing`` resource checked against innsending.xsd, Kartverket's receiver on a register of its
own, and the statuses Kartverket sent back, downloaded and confirmed as a submitter's system would."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from broker.xml.pki import TestPki
from participants.kartverket.etinglysing.altinn import RESOURCE, AltinnReceiver, GrantTokens
from participants.kartverket.etinglysing.container import unpack
from participants.kartverket.etinglysing.service import ETinglysing
from participants.sdk.file_transfer_client import FileTransferClient
from tests.filetransfer.conftest import BASE, KARTVERKET, MEGLER, READ, AltinnApi, start_altinn
from tests.http.conftest import AUDIENCE
from tests.kartverket.etinglysing.conftest import SCHEMA_DIR, Status, statuses

STAGES = [None, "MOTTATT", "UKJENT_TEKNISK_FEIL", "UNDER_BEHANDLING", "AVSLUTTET"]


async def answers(api: AltinnApi, seen: set[str]) -> list[tuple[dict[str, Any], Status]]:
    """The transfers Kartverket has sent the megler since ``seen``, each with its status, downloaded and confirmed."""
    headers = await api.auth(MEGLER, READ)
    listed = await api.client.get(BASE, params={"resourceId": RESOURCE, "status": "Published"}, headers=headers)
    found = []
    for transfer_id in await listed.json():
        if transfer_id in seen:
            continue
        seen.add(transfer_id)
        overview = await api.overview(MEGLER, transfer_id)
        if overview["sender"] != f"0192:{KARTVERKET}":
            continue
        download = await api.client.get(f"{BASE}/{transfer_id}/download", headers=headers)
        [status] = statuses([unpack(await download.read())])
        await api.client.post(f"{BASE}/{transfer_id}/confirmdownload", headers=headers)
        found.append((overview, status))
    # the listing is in no particular order; a status tells where it stands
    return sorted(found, key=lambda item: STAGES.index(item[1].saksstatus))


MakeClient = Callable[[web.Application], Awaitable[Any]]


async def start_etinglysing_broker(
    make_client: MakeClient, tmp_path: Path, test_pki: TestPki, database_url: str, **settings: Any
) -> AltinnApi:
    """A broker whose ``kv_etinglysing`` resource checks every file against Kartverket's schema."""
    api = await start_altinn(
        make_client, tmp_path, test_pki, database_url, schema_sets=(("etinglysing", SCHEMA_DIR / "schema"),), **settings
    )
    configured = await api.configure(
        resource=RESOURCE, schemaSet="etinglysing", maxFileTransferSize=10_000_000, fileTransferTimeToLive="P30D"
    )
    assert configured.status == 200, await configured.text()
    return api


def receiver_for(api: AltinnApi, service: ETinglysing, test_pki: TestPki) -> AltinnReceiver:
    """Kartverket's receiver, polling the broker with Kartverket's own grant."""
    tokens = GrantTokens(str(api.client.make_url("/token")), KARTVERKET, test_pki.credential(KARTVERKET), AUDIENCE)
    client = FileTransferClient(str(api.client.make_url("")), tokens, api.client.session)
    return AltinnReceiver(client, service, KARTVERKET)


@asynccontextmanager
async def served() -> AsyncIterator[Callable[[web.Application], Awaitable[TestClient[Any, Any]]]]:
    """Like pytest-aiohttp's ``aiohttp_client``, for fixtures wider than one test."""
    clients: list[TestClient[Any, Any]] = []

    async def make_client(app: web.Application) -> TestClient[Any, Any]:
        client: TestClient[Any, Any] = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    try:
        yield make_client
    finally:
        for client in clients:
            await client.close()
