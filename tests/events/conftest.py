"""A migrated store per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.app import create_app
from broker.app_keys import SERVICES
from broker.store import migrate
from broker.store.engine import create_engine
from broker.xml.pki import TestPki
from tests.http.conftest import Broker, broker_settings, register_demo

SENDER = "910000004"  # the demo organisations: a bank sends, the megler and another bank receive
RECIPIENT = "930000000"
OTHER_RECIPIENT = "920000002"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate.upgrade(database_url)
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def _webhook_broker(database_url: str, aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> Broker:
    settings = broker_settings(
        tmp_path,
        database_url,
        test_pki,
        webhook_allow_loopback=True,
        webhook_poll_interval_s=0.05,
        webhook_retry_base_s=0.05,
        webhook_retry_max_s=0.3,
        webhook_max_attempts=50,
        webhook_timeout_s=2.0,
    )
    app = create_app(settings)
    client = await aiohttp_client(app)
    await register_demo(app[SERVICES], test_pki)
    return Broker(client, test_pki)


@pytest.fixture
async def webhook_broker(database_url: str, aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> Broker:
    """A running broker (SQLite and PostgreSQL) whose webhooks may go to loopback http, retried quickly."""
    return await _webhook_broker(database_url, aiohttp_client, tmp_path, test_pki)


@pytest.fixture
async def sqlite_webhook_broker(aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> Broker:
    """The same on SQLite only, for refusals that do not depend on the database."""
    return await _webhook_broker(f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}", aiohttp_client, tmp_path, test_pki)
