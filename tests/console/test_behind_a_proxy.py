"""Behind a TLS-terminating proxy: forwarded headers count only from the addresses the operator trusts.

Before, the console cookie never had ``Secure`` behind a proxy and the CSRF check compared ``Origin`` with
the plain scheme the proxy used, so an ``https://`` origin was refused and a plain one accepted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from broker.app import create_app
from broker.app_keys import SERVICES
from broker.xml.pki import TestPki
from tests.console.conftest import OPERATOR, PASSWORD, add_users
from tests.http.conftest import broker_settings, register_demo

PROXY_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "broker.example", "X-Forwarded-For": "203.0.113.9"}


async def _console(aiohttp_client: Any, tmp_path: Path, pki: TestPki, trusted: tuple[str, ...]) -> TestClient:
    settings = broker_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}", pki, trusted_proxies=trusted)
    app = create_app(settings)
    client = await aiohttp_client(app)
    await register_demo(app[SERVICES], pki)
    await add_users(app[SERVICES])
    return client


async def _sign_in(client: TestClient, origin: str, headers: dict[str, str]) -> Any:
    page = await client.get("/console/login", headers=headers)
    text = await page.text()
    token = text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {"csrf_token": token, "username": OPERATOR, "password": PASSWORD, "next": "/console/"}
    # The browser is on https (the proxy's side): it sends the Secure cookie, which the test client on plain
    # http would hold back, so the cookie goes in by hand.
    cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in page.cookies.items())
    sent = {**headers, "Origin": origin, "Cookie": cookie}
    return await client.post("/console/login", data=form, headers=sent, allow_redirects=False), page


async def test_a_trusted_proxys_https_makes_cookies_secure_and_is_the_origin(
    aiohttp_client: Any, tmp_path: Path, test_pki: TestPki
) -> None:
    client = await _console(aiohttp_client, tmp_path, test_pki, ("127.0.0.1",))
    response, page = await _sign_in(client, "https://broker.example", PROXY_HEADERS)
    assert "Secure" in page.headers["Set-Cookie"]
    assert response.status == 303, await response.text()
    assert "Secure" in response.headers["Set-Cookie"]
    refused, _ = await _sign_in(client, "http://broker.example", PROXY_HEADERS)
    assert refused.status == 403


@pytest.mark.parametrize("trusted", [(), ("10.0.0.0/8",)], ids=["none", "another-address"])
async def test_forwarded_headers_from_anyone_else_are_ignored(
    aiohttp_client: Any, tmp_path: Path, test_pki: TestPki, trusted: tuple[str, ...]
) -> None:
    client = await _console(aiohttp_client, tmp_path, test_pki, trusted)
    refused, page = await _sign_in(client, "https://broker.example", PROXY_HEADERS)
    assert "Secure" not in page.headers["Set-Cookie"]
    assert refused.status == 403
    host = f"{client.server.host}:{client.server.port}"
    accepted, _ = await _sign_in(client, f"http://{host}", PROXY_HEADERS)
    assert accepted.status == 303


def test_the_setting_names_a_bad_entry() -> None:
    from broker.config import Settings

    with pytest.raises(ValueError, match="DSVE_TRUSTED_PROXIES"):
        Settings.from_env({"DSVE_TRUSTED_PROXIES": "10.0.0.1, proxy.example"})
