"""Disabling a participant takes effect on its next request, on every broker process.

Before, the access token it held (minutes of life left) still listed, downloaded and confirmed. Two broker
apps on one database stand for two processes; the participant is disabled as ``dsve participants disable``
does it, through a connection of its own.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from broker.app import create_app
from broker.app_keys import SERVICES
from broker.xml.pki import TestPki
from tests.http.conftest import BANK, MEGLER, Broker, broker_settings, set_active_elsewhere

# PostgreSQL tells the other processes after the commit; the notification takes milliseconds.
NOTIFICATION_S = 2.0


async def _status_soon(client: Any, path: str, headers: dict[str, str], wanted: int) -> int:
    deadline = time.monotonic() + NOTIFICATION_S
    while True:
        status = (await client.get(path, headers=headers)).status
        if status == wanted or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.05)


async def test_a_disabled_participants_token_stops_working_everywhere(
    broker: Broker, database_url: str, aiohttp_client: Any, tmp_path: Path, test_pki: TestPki
) -> None:
    key_file = broker.services.settings.effective_token_key_file  # a cluster shares its token key
    other_app = create_app(broker_settings(tmp_path / "other", database_url, test_pki, token_key_file=key_file))
    other = await aiohttp_client(other_app)
    message = broker.signed("intensjonFraBank")
    sent = await broker.send(BANK, message)
    assert sent.status == 201, await sent.text()
    message_id = (await sent.json())["id"]
    bank = await broker.headers(BANK)
    megler = await broker.headers(MEGLER)
    for client in (broker.client, other):  # both processes have read (and cached) the participant
        assert (await client.get("/api/v1/messages", headers=bank)).status == 200
        assert (await client.get(f"/api/v1/messages/{message_id}/content", headers=megler)).status == 200

    await set_active_elsewhere(database_url, MEGLER, False)

    for client in (broker.client, other):
        assert await _status_soon(client, "/api/v1/messages?box=inbox", megler, 401) == 401
        content = await client.get(f"/api/v1/messages/{message_id}/content", headers=megler)
        assert content.status == 401
        assert (await content.json())["type"].endswith("/token-invalid")
        confirm = await client.post(f"/api/v1/messages/{message_id}/confirm", headers=megler)
        assert confirm.status == 401
        assert (await client.get("/api/v1/messages", headers=bank)).status == 200  # others are not affected

    await set_active_elsewhere(database_url, MEGLER, True)
    for client in (broker.client, other):
        assert await _status_soon(client, "/api/v1/messages?box=inbox", megler, 200) == 200
    assert other_app[SERVICES].engine.dialect.name == broker.services.engine.dialect.name
