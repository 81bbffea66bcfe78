"""Fixtures for the Altinn-compatible file-transfer API: a broker whose service owner is Kartverket, and a
client that speaks the API as Altinn's request collections do (base URL and tokens swapped)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse

from broker.app import create_app
from broker.app_keys import SERVICES
from broker.routing.inprocess import InProcessTransport
from broker.xml.pki import TestPki
from participants.sdk.tokens import JWT_BEARER_GRANT, build_grant_assertion
from tests.http.conftest import AUDIENCE, BANK, BANK_2, KARTVERKET, MEGLER, Broker, broker_settings, register_demo

__all__ = ["BANK", "BANK_2", "KARTVERKET", "MEGLER", "AltinnApi"]

RESOURCE = "kv_dsve"
BASE = "/broker/api/v1/filetransfer"
WRITE, READ, OWNER = "altinn:broker.write", "altinn:broker.read", "altinn:serviceowner"


@dataclass
class AltinnApi:
    """The broker as a participant system written against Altinn 3 Broker sees it."""

    broker: Broker

    @property
    def client(self) -> Any:
        return self.broker.client

    async def token(self, orgnr: str, scope: str) -> str:
        assertion = build_grant_assertion(orgnr, self.broker.credential(orgnr), AUDIENCE, scope=scope)
        response = await self.client.post("/token", data={"grant_type": JWT_BEARER_GRANT, "assertion": assertion})
        assert response.status == 200, await response.text()
        body = await response.json()
        assert body["scope"] == scope
        return str(body["access_token"])

    async def auth(self, orgnr: str, scope: str = f"{WRITE} {READ}") -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(orgnr, scope)}"}

    async def configure(self, resource: str = RESOURCE, **settings: Any) -> ClientResponse:
        headers = await self.auth(KARTVERKET, OWNER)
        return await self.client.put(f"/broker/api/v1/resource/{resource}", json=settings, headers=headers)

    async def initialize(
        self,
        sender: str,
        recipients: Sequence[str],
        *,
        file_name: str = "package.zip",
        checksum: str | None = None,
        properties: Mapping[str, str] | None = None,
        resource: str = RESOURCE,
    ) -> ClientResponse:
        body: dict[str, Any] = {
            "fileName": file_name,
            "resourceId": resource,
            "sendersFileTransferReference": "sak-4711",
            "sender": f"0192:{sender}",
            "recipients": [f"0192:{r}" for r in recipients],
            "propertyList": dict(properties or {"messageType": "pantedokument"}),
        }
        if checksum is not None:
            body["checksum"] = checksum
        return await self.client.post(BASE, json=body, headers=await self.auth(sender, WRITE))

    async def new_transfer(self, sender: str, recipients: Sequence[str], data: bytes, **kwargs: Any) -> str:
        response = await self.initialize(sender, recipients, checksum=md5(data), **kwargs)
        assert response.status == 200, await response.text()
        transfer_id = str((await response.json())["fileTransferId"])
        uploaded = await self.upload(sender, transfer_id, data)
        assert uploaded.status == 200, await uploaded.text()
        return transfer_id

    async def upload(self, sender: str, transfer_id: str, data: bytes) -> ClientResponse:
        headers = {**await self.auth(sender, WRITE), "Content-Type": "application/octet-stream"}
        return await self.client.post(f"{BASE}/{transfer_id}/upload", data=data, headers=headers)

    async def overview(self, orgnr: str, transfer_id: str, scope: str = READ) -> dict[str, Any]:
        response = await self.client.get(f"{BASE}/{transfer_id}", headers=await self.auth(orgnr, scope))
        assert response.status == 200, await response.text()
        return dict(await response.json())


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


async def start_altinn(
    aiohttp_client: Any, tmp_path: Path, test_pki: TestPki, database_url: str, **overrides: Any
) -> AltinnApi:
    values: dict[str, Any] = {"service_owners": frozenset({KARTVERKET})}
    values.update(overrides)
    settings = broker_settings(tmp_path, database_url, test_pki, **values)
    transport = None if settings.amqp_url else InProcessTransport()
    app = create_app(settings, transport=transport)
    client = await aiohttp_client(app)
    await register_demo(app[SERVICES], test_pki)
    api = AltinnApi(Broker(client, test_pki))
    configured = await api.configure(maxFileTransferSize=10_000_000, fileTransferTimeToLive="P30D")
    assert configured.status == 200, await configured.text()
    return api


@pytest.fixture
async def altinn(database_url: str, aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> AltinnApi:
    """On SQLite and on PostgreSQL (in-process transport)."""
    return await start_altinn(aiohttp_client, tmp_path, test_pki, database_url)


@pytest.fixture
async def sqlite_altinn(aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> AltinnApi:
    return await start_altinn(aiohttp_client, tmp_path, test_pki, f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
