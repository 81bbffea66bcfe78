"""File transfers in the console, beside messages: scoped to the viewer's organisation as the API scopes them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from broker.xml.pki import TestPki
from tests.console.conftest import BANK_STAFF, OPERATOR, add_users, sign_in
from tests.filetransfer.conftest import BANK, BANK_2, BASE, MEGLER, READ, start_altinn


async def test_transfers_are_listed_and_shown_with_histories_and_events(
    aiohttp_client: Any, tmp_path: Path, test_pki: TestPki
) -> None:
    api = await start_altinn(aiohttp_client, tmp_path, test_pki, f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    await add_users(api.broker.services)
    shared = await api.new_transfer(MEGLER, [BANK, BANK_2], os.urandom(1000), file_name="shared.zip")
    headers = await api.auth(BANK, READ)
    assert (await api.client.get(f"{BASE}/{shared}/download", headers=headers)).status == 200
    assert (await api.client.post(f"{BASE}/{shared}/confirmdownload", headers=headers)).status == 200
    other = await api.new_transfer(MEGLER, [BANK_2], os.urandom(1000), file_name="other.zip")
    client = api.client

    assert (await sign_in(client, BANK_STAFF)).status == 303
    listing = await (await client.get("/console/transfers")).text()
    assert shared in listing and "shared.zip" in listing
    assert other not in listing and "other.zip" not in listing
    assert (await client.get(f"/console/transfers/{other}")).status == 404  # another's: not found
    page = await client.get(f"/console/transfers/{shared}")
    assert page.status == 200
    html = await page.text()
    assert "DownloadConfirmed" in html and "AllConfirmedDownloaded" not in html
    assert BANK_2 not in html  # another recipient's status and history are not the bank's to see
    assert "no.altinn.broker.published" in html  # the events told to the bank
    assert "no.altinn.broker.filetransferinitialized" not in html  # told to the sender only
    assert '<a href="/console/transfers"' in html  # beside messages, in the navigation

    await client.post("/console/logout", data={"csrf_token": _csrf(html)})
    assert (await sign_in(client, OPERATOR)).status == 303
    html = await (await client.get(f"/console/transfers/{shared}")).text()
    assert BANK_2 in html and "no.altinn.broker.filetransferinitialized" in html
    assert other in await (await client.get("/console/transfers")).text()


def _csrf(html: str) -> str:
    from tests.console.conftest import csrf_token

    return csrf_token(html)
