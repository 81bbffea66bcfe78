"""The console's manual-handling page on the Kartverket simulator's e-tinglysing: Kartverket's staff see the
submissions a control left UAVKLART, with their control results, and end one TINGLYST or NEKTET; the
simulator records it and sends the submitter the final status on its next poll."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from broker.app import create_app
from broker.app_keys import SERVICES
from broker.store.console_user_repository import ConsoleUser, ConsoleUserRepository
from broker.store.unit_of_work import UnitOfWork
from broker.xml.pki import TestPki
from participants.kartverket.etinglysing.desk import DATABASE_ENV, ETinglysingDesk, open_desk
from participants.kartverket.etinglysing.service import ETinglysing
from tests.console.conftest import BANK_STAFF, OPERATOR, add_users, csrf_token, password_hash, sign_in
from tests.http.conftest import KARTVERKET, broker_settings, register_demo
from tests.kartverket.etinglysing.conftest import SCHEMA_DIR, open_service, statuses
from tests.kartverket.etinglysing.test_manual import pant_on_restricted_unit

CASE_OFFICER = "kari.kartverket"
PAGE = "/console/manual-handling"


@dataclass
class World:
    client: TestClient[Any, Any]
    kv: ETinglysing


async def _console(aiohttp_client: Any, tmp_path: Path, pki: TestPki, desk: ETinglysingDesk | None) -> Any:
    app = create_app(broker_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}", pki), case_desk=desk)
    client = await aiohttp_client(app)
    await register_demo(app[SERVICES], pki)
    await add_users(app[SERVICES])
    async with UnitOfWork(app[SERVICES].engine) as uow:
        officer = ConsoleUser(CASE_OFFICER, password_hash(), "participant", KARTVERKET)
        await ConsoleUserRepository(uow.connection).save(officer, datetime.now(UTC))
        await uow.commit()
    return client


@pytest.fixture
async def world(aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> AsyncIterator[World]:
    (tmp_path / "kartverket").mkdir()
    register, kv = await open_service(tmp_path / "kartverket")
    await kv.handle("sendTilTinglysing", pant_on_restricted_unit("manuell-1"))  # innsendingId 1010001
    client = await _console(aiohttp_client, tmp_path, test_pki, ETinglysingDesk(kv))
    yield World(client, kv)
    await register.close()


async def _as(client: TestClient[Any, Any], username: str) -> None:
    assert (await sign_in(client, username)).status == 303


async def test_the_case_officer_sees_the_case_and_refuses_it(world: World) -> None:
    await _as(world.client, CASE_OFFICER)
    page = await world.client.get(PAGE)
    html = await page.text()
    assert page.status == 200
    assert "1010001" in html and "manuell-1" in html and "2026/1/200" in html
    assert "URAADIGHET_UTEN_SAMTYKKE" in html and "UAVKLART" in html
    token = csrf_token(html)

    decided = await world.client.post(
        f"{PAGE}/1010001", data={"csrf_token": token, "utfall": "NEKTET"}, allow_redirects=False
    )
    assert decided.status == 303 and decided.headers["Location"] == f"{PAGE}?done=1010001:NEKTET"
    [status] = statuses([await world.kv.status(1010001)])
    assert (status.saksstatus, status.utfall) == ("AVSLUTTET", "NEKTET")
    assert [innsending_id for innsending_id, _, _ in await world.kv.undelivered()] == [1010001]  # sent on next poll
    after = await (await world.client.get(f"{PAGE}?done=1010001:NEKTET")).text()
    assert "ended NEKTET" in after and "No submission is waiting" in after

    again = await world.client.post(f"{PAGE}/1010001", data={"csrf_token": token, "utfall": "TINGLYST"})
    assert again.status == 409


async def test_only_kartverkets_staff_decide(world: World) -> None:
    await _as(world.client, CASE_OFFICER)
    token = csrf_token(await (await world.client.get(PAGE)).text())
    assert (await world.client.post(f"{PAGE}/1010001", data={"utfall": "TINGLYST"})).status == 403  # no CSRF
    assert (await world.client.post(f"{PAGE}/1010001", data={"csrf_token": token, "utfall": "AVVIST"})).status == 400
    assert (await world.client.post(f"{PAGE}/1010099", data={"csrf_token": token, "utfall": "NEKTET"})).status == 404

    await _as(world.client, OPERATOR)
    html = await (await world.client.get(PAGE)).text()
    assert "1010001" in html and '<form method="post" action="/console/manual-handling' not in html
    token = csrf_token(html)  # the sign-out form's
    assert (await world.client.post(f"{PAGE}/1010001", data={"csrf_token": token, "utfall": "NEKTET"})).status == 403

    await _as(world.client, BANK_STAFF)
    assert (await world.client.get(PAGE)).status == 403
    assert [case[0] for case in await world.kv.pending()] == [1010001]  # nobody but Kartverket decided


async def test_without_a_desk_the_page_names_the_command_line(
    aiohttp_client: Any, tmp_path: Path, test_pki: TestPki
) -> None:
    client = await _console(aiohttp_client, tmp_path, test_pki, None)
    await _as(client, OPERATOR)
    html = await (await client.get(PAGE)).text()
    assert "dsve sim kartverket-decide" in html
    token = csrf_token(html)
    assert (await client.post(f"{PAGE}/1010001", data={"csrf_token": token, "utfall": "NEKTET"})).status == 404


async def test_the_desk_opens_the_database_the_environment_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(DATABASE_ENV, raising=False)
    assert open_desk() is None
    monkeypatch.setenv(DATABASE_ENV, f"sqlite+aiosqlite:///{tmp_path / 'grunnbok.db'}")
    monkeypatch.setenv("DSVE_SCHEMA_SETS", f"etinglysing={SCHEMA_DIR / 'schema'}")
    desk = open_desk()
    assert desk is not None and desk.orgnr == KARTVERKET
    try:
        assert await desk.pending() == []  # a database the simulator has not used yet
    finally:
        await desk.service.register.close()
    monkeypatch.setenv("DSVE_SCHEMA_SETS", f"etinglysing={tmp_path / 'nowhere'}")
    assert open_desk() is None


def test_dsve_serve_finds_the_desk_through_the_declared_entry_point(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import importlib.metadata
    import tomllib

    from broker.console.case_desk import PLUGIN_GROUP, load_case_desk

    declared = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    [(name, value)] = declared["project"]["entry-points"][PLUGIN_GROUP].items()
    entry = importlib.metadata.EntryPoint(name=name, value=value, group=PLUGIN_GROUP)
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: [entry] if group == PLUGIN_GROUP else [])
    monkeypatch.delenv(DATABASE_ENV, raising=False)
    assert load_case_desk() is None
    monkeypatch.setenv(DATABASE_ENV, f"sqlite+aiosqlite:///{tmp_path / 'grunnbok.db'}")
    monkeypatch.setenv("DSVE_SCHEMA_SETS", f"etinglysing={SCHEMA_DIR / 'schema'}")
    desk = load_case_desk()
    assert isinstance(desk, ETinglysingDesk)
    asyncio.run(desk.service.register.close())
