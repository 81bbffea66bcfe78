"""A disabled participant's console staff can neither sign in nor keep the session they had.

Before, disabling a participant stopped its API tokens but not its people in the console: they signed in
and kept browsing its messages. Two broker apps on one database stand for two processes; the participant is
disabled as ``dsve participants disable`` does it, through a connection of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from broker.app import create_app
from broker.app_keys import SERVICES
from broker.xml.pki import TestPki
from tests.console.conftest import BANK_STAFF, OPERATOR, add_users, sign_in
from tests.http.conftest import BANK, broker_settings, register_demo, set_active_elsewhere


async def _page_status(client: Any, cookie: str) -> int:
    client.session.cookie_jar.clear()
    response = await client.get("/console/", headers={"Cookie": f"dsve_console={cookie}"}, allow_redirects=False)
    return response.status


async def test_disabling_a_participant_signs_its_staff_out_everywhere_and_keeps_them_out(
    database_url: str, aiohttp_client: Any, tmp_path: Path, test_pki: TestPki
) -> None:
    settings = broker_settings(tmp_path, database_url, test_pki)  # one data directory: one console secret
    first = await aiohttp_client(create_app(settings))
    second = await aiohttp_client(create_app(settings))
    await register_demo(first.app[SERVICES], test_pki)
    await add_users(first.app[SERVICES])

    signed_in = await sign_in(first, BANK_STAFF)
    assert signed_in.status == 303
    cookie = signed_in.cookies["dsve_console"].value
    assert await _page_status(first, cookie) == 200
    assert await _page_status(second, cookie) == 200

    await set_active_elsewhere(database_url, BANK, False)
    assert await _page_status(first, cookie) == 303  # back to the sign-in page, on both processes
    assert await _page_status(second, cookie) == 303
    refused = await sign_in(second, BANK_STAFF)
    assert refused.status == 401 and "dsve_console" not in refused.cookies
    assert (await sign_in(first, OPERATOR)).status == 303  # the operator belongs to no participant

    await set_active_elsewhere(database_url, BANK, True)
    assert await _page_status(second, cookie) == 200  # the session had not expired
    assert (await sign_in(first, BANK_STAFF)).status == 303
