"""A migrated store per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.store import migrate
from broker.store.engine import create_engine

SENDER = "910000004"
RECIPIENT = "930000000"
OTHER_RECIPIENT = "920000002"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate.upgrade(database_url)
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()
