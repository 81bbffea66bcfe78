"""The running broker on SQLite checkpoints its WAL in the background, not in its commits."""

from __future__ import annotations

import asyncio

from tests.http.conftest import Broker


async def test_the_running_broker_checkpoints_in_the_background(sqlite_broker: Broker) -> None:
    async with sqlite_broker.services.engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar() == 0
    assert "wal checkpoints" in {task.get_name() for task in asyncio.all_tasks() if not task.done()}
