"""The sign-in backoff counts per username and per client address, refuses before hashing, and forgets.

Before, it was keyed on (username, address): behind a proxy every client shared the proxy's address, a
guesser escaped it by changing the user name while each try still cost an argon2 hash, and the rows of
unknown user names stayed forever. The clients here are told apart by ``X-Forwarded-For`` from a trusted
proxy (the test client's own address).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import broker.console.sign_in as sign_in_use_case
from broker.app import create_app
from broker.app_keys import SERVICES
from broker.store.tables import console_sign_in_failures
from broker.xml.pki import TestPki
from tests.console.conftest import BANK_STAFF, OPERATOR, PASSWORD, Clock, add_users
from tests.http.conftest import broker_settings, register_demo


class Console:
    def __init__(self, client: Any, clock: Clock, services: Any) -> None:
        self.client, self.clock, self.services = client, clock, services

    async def sign_in(self, username: str, password: str, address: str) -> Any:
        headers = {"X-Forwarded-For": address}
        page = await self.client.get("/console/login", headers=headers)
        token = (await page.text()).split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        form = {"csrf_token": token, "username": username, "password": password, "next": "/console/"}
        return await self.client.post("/console/login", data=form, headers=headers, allow_redirects=False)

    async def rows(self) -> list[tuple[str, str]]:
        async with self.services.engine.connect() as conn:
            result = await conn.execute(
                sa.select(console_sign_in_failures.c.username, console_sign_in_failures.c.client)
            )
            return sorted((row.username, row.client) for row in result)


@pytest.fixture
async def console(aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> Console:
    clock = Clock()
    clock.freeze()
    settings = broker_settings(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", test_pki, trusted_proxies=("127.0.0.1",)
    )
    app = create_app(settings, clock=clock)
    client = await aiohttp_client(app)
    await register_demo(app[SERVICES], test_pki)
    await add_users(app[SERVICES])
    return Console(client, clock, app[SERVICES])


async def test_a_username_backs_off_whatever_address_the_attempts_come_from(console: Console) -> None:
    for n in range(3):
        assert (await console.sign_in(OPERATOR, "wrong password!!", f"203.0.113.{n + 1}")).status == 401
    refused = await console.sign_in(OPERATOR, PASSWORD, "203.0.113.99")
    assert refused.status == 429 and refused.headers["Retry-After"] == "2"
    console.clock.advance(2.5)
    assert (await console.sign_in(OPERATOR, PASSWORD, "203.0.113.99")).status == 303


async def test_an_address_trying_user_after_user_backs_off(console: Console) -> None:
    for n in range(10):
        assert (await console.sign_in(f"guess.{n}", "password", "198.51.100.7")).status == 401
    refused = await console.sign_in(BANK_STAFF, PASSWORD, "198.51.100.7")
    assert refused.status == 429
    assert (await console.sign_in(BANK_STAFF, PASSWORD, "198.51.100.8")).status == 303  # others go on


async def test_a_refusal_costs_no_password_hash(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(3):
        await console.sign_in(OPERATOR, "wrong password!!", f"203.0.113.{n + 1}")
    checked: list[str] = []
    real = sign_in_use_case.verify_password

    async def counting(stored: str | None, password: str) -> bool:
        checked.append(password)
        return await real(stored, password)

    monkeypatch.setattr(sign_in_use_case, "verify_password", counting)
    for _ in range(5):
        assert (await console.sign_in(OPERATOR, "another guess", "203.0.113.50")).status == 429
    assert checked == []


async def test_counts_of_long_ago_are_forgotten(console: Console) -> None:
    await console.sign_in("nobody.at.all", "password", "192.0.2.1")
    assert await console.rows() == [("", "192.0.2.1"), ("nobody.at.all", "")]
    console.clock.advance(11 * 60)  # twice the longest wait (5 minutes) and then some
    await console.sign_in("someone.else", "password", "192.0.2.2")
    assert await console.rows() == [("", "192.0.2.2"), ("someone.else", "")]
