"""Fixtures for the console: a broker holding a whole sale (the catalogue's examples, signed by the test
PKI's organisations and sent through the API), console users, and a client that signs in like a browser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from broker.app import create_app
from broker.app_keys import SERVICES
from broker.console.passwords import hash_password
from broker.store.console_user_repository import ConsoleUser, ConsoleUserRepository
from broker.store.unit_of_work import UnitOfWork
from broker.xml.pki import TestPki
from tests.http.conftest import BANK, BANK_2, KARTVERKET, MEGLER, Broker, broker_settings, register_demo

OPERATOR = "olga.operator"
BANK_STAFF = "bjorn.bank"  # staff of the buyer's bank (BANK)
OTHER_BANK_STAFF = "siri.seller.bank"  # staff of the seller's bank (BANK_2)
PASSWORD = "correct horse battery staple"
SALE_UNIT = "4601-165-412"
SALE_REFERENCE = "OPPGJ-2026-0412"
FINANCING_TYPES = ("finansieringsforespoersel", "finansieringssvar", "finansieringAvsluttet")

# The sale in the order the process runs: (message type, sender). Routing fields come from each example.
SALE: tuple[tuple[str, str], ...] = (
    ("finansieringsforespoersel", MEGLER),
    ("finansieringssvar", BANK),
    ("finansieringAvsluttet", MEGLER),
    ("restgjeldsforespoersel", MEGLER),
    ("restgjeldssvar", BANK_2),
    ("intensjonFraBank", BANK),
    ("intensjonssvarFraMegler", MEGLER),
    ("kjoepekontraktforespoersel", BANK),
    ("kjoepekontraktsvar", MEGLER),
    ("pantedokument", BANK),
    ("pantedokumentKvittering", MEGLER),
    ("innfrielsessaldoforespoersel", MEGLER),
    ("innfrielsessaldosvar", BANK_2),
    ("slettingserklaering", BANK_2),
    ("tinglysingsforsendelse", MEGLER),
    ("forsendelsesstatus", KARTVERKET),
    ("gjennomfoertTinglysing", MEGLER),
    ("oppnaaddPrioritet", MEGLER),
)
SETTLEMENT_CASE_SIZE = len(SALE) - len(FINANCING_TYPES)

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_SIGN_IN_CSRF = re.compile(r'action="/console/login"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"')


@cache
def password_hash() -> str:
    """One argon2 hash for the whole run: hashing is slow on purpose."""
    return hash_password(PASSWORD)


@dataclass
class Clock:
    """The broker's clock, moved by tests instead of sleeping."""

    offset: timedelta = field(default_factory=timedelta)
    frozen_at: datetime | None = None  # set by freeze(): time stands still but for advance()

    def __call__(self) -> datetime:
        return (self.frozen_at or datetime.now(UTC)) + self.offset

    def freeze(self) -> None:
        """Stop the wall clock (a slow machine must not let a backoff run out between two requests)."""
        self.frozen_at = datetime.now(UTC)

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass
class ConsoleBroker:
    broker: Broker
    clock: Clock
    message_ids: dict[str, str]  # message type → broker id

    @property
    def client(self) -> TestClient:
        return self.broker.client

    @property
    def services(self) -> Any:
        return self.broker.services


def csrf_token(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


async def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    page = await client.get("/console/login")
    match = _SIGN_IN_CSRF.search(await page.text())
    assert match, "the sign-in page has no form with a CSRF token"
    token = match.group(1)
    return await client.post(
        "/console/login",
        data={"csrf_token": token, "username": username, "password": password, "next": "/console/"},
        allow_redirects=False,
    )


async def add_users(services: Any) -> None:
    async with UnitOfWork(services.engine) as uow:
        users = ConsoleUserRepository(uow.connection)
        now = datetime.now(UTC)
        await users.save(ConsoleUser(OPERATOR, password_hash(), "operator", None), now)
        await users.save(ConsoleUser(BANK_STAFF, password_hash(), "participant", BANK), now)
        await users.save(ConsoleUser(OTHER_BANK_STAFF, password_hash(), "participant", BANK_2), now)
        await uow.commit()


async def send_sale(broker: Broker) -> dict[str, str]:
    ids = {}
    for message_type, sender in SALE:
        response = await broker.send(sender, broker.signed(message_type))
        assert response.status == 201, await response.text()
        ids[message_type] = (await response.json())["id"]
    return ids


async def start_console_broker(aiohttp_client: Any, tmp_path: Path, pki: TestPki) -> ConsoleBroker:
    clock = Clock()
    settings = broker_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}", pki)
    app = create_app(settings, clock=clock)
    client = await aiohttp_client(app)
    await register_demo(app[SERVICES], pki)
    await add_users(app[SERVICES])
    broker = Broker(client, pki)
    return ConsoleBroker(broker, clock, await send_sale(broker))


@pytest.fixture
async def console_broker(aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> ConsoleBroker:
    return await start_console_broker(aiohttp_client, tmp_path, test_pki)
