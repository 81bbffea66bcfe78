"""Every console page renders with a full store: here 1,000 messages, on SQLite and on PostgreSQL, where this
also shows that every read model and the property-unit index work there. How fast they render is measured by
``bench/console.py`` (10,000 messages, a 200 ms goal), not asserted here: a test on a loaded machine would
measure the machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.console import add_operator, fill_store, page_paths, sign_in, time_pages
from broker.app import create_app
from broker.app_keys import CONSOLE_APP, PROPERTY_INDEXER, SERVICES
from broker.xml.pki import TestPki
from tests.http.conftest import broker_settings, register_demo

MESSAGES = 1_000


async def test_every_page_renders_with_a_full_store(
    aiohttp_client: Any, tmp_path: Path, test_pki: TestPki, database_url: str
) -> None:
    app = create_app(broker_settings(tmp_path, database_url, test_pki))
    client = await aiohttp_client(app)
    engine = app[SERVICES].engine
    await register_demo(app[SERVICES], test_pki)
    cases = await fill_store(engine, MESSAGES)
    await app[CONSOLE_APP][PROPERTY_INDEXER].catch_up(budget_s=60)
    await add_operator(engine)
    await sign_in(client)
    # Sale number 1: its settlement and its bidding round, and the 12 of its messages that name its unit.
    unit_search = await (await client.get("/console/cases?unit=4601-1001-412")).text()
    assert "2 cases, 12 messages" in unit_search

    timings = await time_pages(client, await page_paths(client, cases), repeat=1)  # each answers 200

    assert len(timings) == 8
