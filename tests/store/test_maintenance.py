"""Store maintenance: tables past their thresholds are analyzed and vacuumed, one process at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.store import maintenance, migrate
from broker.store.engine import create_engine
from broker.store.maintenance import MAINTENANCE_LOCK_KEY, MaintenancePass, StoreMaintenance, maintain_once
from broker.store.tables import outbox

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
async def pg_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate.upgrade(postgres_url)
    engine = create_engine(postgres_url)
    yield engine
    await engine.dispose()


async def _churn_outbox(engine: AsyncEngine, rows: int) -> None:
    """Insert ``rows`` outbox rows and publish them: one dead row each, as the relay leaves them."""
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(outbox),
            [
                {
                    "kind": "event",
                    "message_id": f"m{i}",
                    "routing_key": "910000004.accepted",
                    "headers": {},
                    "body": b"{}",
                    "created_at": NOW,
                    "attempts": 0,
                }
                for i in range(rows)
            ],
        )
    async with engine.begin() as conn:
        await conn.execute(sa.delete(outbox))


async def _stats(engine: AsyncEngine, table: str) -> tuple[int, int]:
    """(dead rows, rows modified since analyze) once this database's counters have caught up."""
    async with engine.connect() as conn:
        await conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
        row = (
            await conn.execute(
                sa.text("SELECT n_dead_tup, n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = :t"),
                {"t": table},
            )
        ).one()
    return row.n_dead_tup, row.n_mod_since_analyze


async def _wait_for_counters(engine: AsyncEngine, table: str, dead_at_least: int) -> None:
    # Backends report their counts to the statistics system when idle, up to a second later.
    for _ in range(50):
        dead, _ = await _stats(engine, table)
        if dead >= dead_at_least:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the statistics never showed {dead_at_least} dead rows in {table}")


@pytest.mark.postgres
async def test_a_churned_outbox_is_vacuumed_and_analyzed_then_left_alone(pg_engine: AsyncEngine) -> None:
    await _churn_outbox(pg_engine, 1500)
    await _wait_for_counters(pg_engine, "outbox", 1500)

    first = await maintain_once(pg_engine)

    assert "outbox" in first.vacuumed
    assert not first.skipped
    dead, modified = await _stats(pg_engine, "outbox")
    assert dead == 0 and modified == 0
    second = await maintain_once(pg_engine)
    assert "outbox" not in second.vacuumed and "outbox" not in second.analyzed


@pytest.mark.postgres
async def test_a_table_below_the_thresholds_is_not_touched(pg_engine: AsyncEngine) -> None:
    await _churn_outbox(pg_engine, 100)
    await _wait_for_counters(pg_engine, "outbox", 100)

    done = await maintain_once(pg_engine)

    assert "outbox" not in done.vacuumed and "outbox" not in done.analyzed
    dead, _ = await _stats(pg_engine, "outbox")
    assert dead >= 100


@pytest.mark.postgres
async def test_a_second_process_skips_while_one_holds_the_lock(pg_engine: AsyncEngine) -> None:
    await _churn_outbox(pg_engine, 1500)
    await _wait_for_counters(pg_engine, "outbox", 1500)
    async with pg_engine.connect() as holder:
        assert await holder.scalar(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": MAINTENANCE_LOCK_KEY})
        try:
            assert await maintain_once(pg_engine) == MaintenancePass(skipped=True)
        finally:
            await holder.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": MAINTENANCE_LOCK_KEY})
    dead, _ = await _stats(pg_engine, "outbox")
    assert dead >= 1500  # nothing was vacuumed while the other process held the lock
    assert "outbox" in (await maintain_once(pg_engine)).vacuumed


@pytest.mark.postgres
async def test_the_task_runs_passes_until_stopped(pg_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    await _churn_outbox(pg_engine, 1500)
    await _wait_for_counters(pg_engine, "outbox", 1500)
    task = StoreMaintenance(pg_engine, interval_s=0.05)
    assert task.enabled
    await task.start()
    try:
        for _ in range(100):
            if (await _stats(pg_engine, "outbox"))[0] == 0:
                break
            await asyncio.sleep(0.05)
    finally:
        await task.stop()
    assert task.passes >= 1
    assert (await _stats(pg_engine, "outbox"))[0] == 0


async def test_sqlite_has_nothing_to_maintain(tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}"
    await migrate.upgrade(url)
    engine = create_engine(url)
    try:
        assert await maintain_once(engine) == MaintenancePass()
        assert not StoreMaintenance(engine, interval_s=5).enabled
    finally:
        await engine.dispose()


def test_thresholds_grow_with_the_table() -> None:
    small = maintenance.TableStats("outbox", live=0, dead=999, modified_since_analyze=499)
    assert not small.needs_vacuum and not small.needs_analyze
    big = maintenance.TableStats("outbox", live=1_000_000, dead=50_000, modified_since_analyze=50_000)
    assert not big.needs_vacuum and not big.needs_analyze  # under 10 % of a million rows
    assert maintenance.TableStats("outbox", live=1_000_000, dead=101_000, modified_since_analyze=0).needs_vacuum
