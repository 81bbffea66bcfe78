"""Refusals by reason are counted in memory and added to the store in bounded writes: a flood of refused
requests is one flush, counts survive a restart, and two broker processes on one database add up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import event

from broker.app import create_app
from broker.app_keys import REFUSALS, SERVICES
from broker.domain.errors import Error
from broker.store.refusal_repository import RefusalRepository, RefusalTotal
from broker.xml.pki import TestPki
from tests.http.conftest import broker_settings

TOKEN = Error.TOKEN_MISSING.spec
NOT_FOUND = Error.NOT_FOUND.spec
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


async def _start(aiohttp_client: Any, tmp_path: Path, database_url: str, pki: TestPki, **settings: Any) -> TestClient:
    return await aiohttp_client(create_app(broker_settings(tmp_path, database_url, pki, **settings)))


async def _refuse(client: TestClient, times: int, path: str = "/api/v1/messages") -> None:
    for _ in range(times):
        response = await client.get(path)  # no bearer token
        assert response.status in (401, 404)
        await response.release()


async def _totals(client: TestClient) -> list[RefusalTotal]:
    async with client.app[SERVICES].engine.connect() as connection:
        return await RefusalRepository(connection).totals_since(LONG_AGO)


async def test_a_thousand_refusals_are_one_write(aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}"
    client = await _start(aiohttp_client, tmp_path, url, test_pki, refusal_flush_interval_s=3600)
    writes: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "refusal_counts" in statement and not statement.lstrip().upper().startswith("SELECT"):
            writes.append(statement)

    event.listen(client.app[SERVICES].engine.sync_engine, "before_cursor_execute", count)
    await asyncio.gather(*(_refuse(client, 100) for _ in range(10)))
    assert writes == [] and client.app[REFUSALS].pending == 1000

    assert await client.app[REFUSALS].flush() in (1, 2)  # one row per minute: the run may cross a minute
    # One transaction: one upsert, and the prune of old minutes that runs at most once an hour.
    assert [statement.split()[0] for statement in writes] == ["INSERT", "DELETE"]
    await _refuse(client, 1)
    await client.app[REFUSALS].flush()
    assert [statement.split()[0] for statement in writes] == ["INSERT", "DELETE", "INSERT"]
    assert await _totals(client) == [RefusalTotal(TOKEN.code, TOKEN.slug, 1001)]


async def test_counts_survive_a_restart(aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}"
    first = await _start(aiohttp_client, tmp_path, url, test_pki, refusal_flush_interval_s=3600)
    await _refuse(first, 3)
    await _refuse(first, 2, "/api/v1/no-such-route")
    await first.close()  # shutdown writes what is pending

    second = await _start(aiohttp_client, tmp_path, url, test_pki)
    assert await _totals(second) == [
        RefusalTotal(TOKEN.code, TOKEN.slug, 3),
        RefusalTotal(NOT_FOUND.code, NOT_FOUND.slug, 2),
    ]


@pytest.mark.postgres
async def test_two_brokers_on_one_database_add_up(
    aiohttp_client: Any, tmp_path: Path, postgres_url: str, test_pki: TestPki
) -> None:
    one = await _start(aiohttp_client, tmp_path / "one", postgres_url, test_pki, refusal_flush_interval_s=3600)
    two = await _start(aiohttp_client, tmp_path / "two", postgres_url, test_pki, refusal_flush_interval_s=3600)
    await asyncio.gather(_refuse(one, 4), _refuse(two, 6))
    await asyncio.gather(one.app[REFUSALS].flush(), two.app[REFUSALS].flush())
    await _refuse(one, 1)
    await one.app[REFUSALS].flush()
    assert await _totals(two) == [RefusalTotal(TOKEN.code, TOKEN.slug, 11)]


async def test_the_background_task_flushes_by_itself(aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}"
    client = await _start(aiohttp_client, tmp_path, url, test_pki, refusal_flush_interval_s=1)
    await _refuse(client, 2)
    for _ in range(50):
        if await _totals(client):
            break
        await asyncio.sleep(0.1)
    assert await _totals(client) == [RefusalTotal(TOKEN.code, TOKEN.slug, 2)]
    assert client.app[REFUSALS].pending == 0
