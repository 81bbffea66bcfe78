"""Writers on one SQLite file queue in the process (``sqlite_write_gate``): a write transaction holds the
file's turn until it ends, reads never take it, and the next writer goes on when the first one ends."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from broker.store import sqlite_driver
from broker.store.engine import create_engine
from broker.store.sqlite_driver import OneTripConnection
from broker.store.sqlite_write_gate import may_write

_ITEMS = sa.Table("items", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("n", sa.Integer))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'gate.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(_ITEMS.metadata.create_all)
    yield engine
    await engine.dispose()


async def _driver(conn: AsyncConnection) -> OneTripConnection:
    driver = (await conn.get_raw_connection()).driver_connection
    assert isinstance(driver, OneTripConnection)
    return driver


def test_statements_that_may_start_a_write_are_told_from_reads() -> None:
    for sql in (
        "INSERT INTO t VALUES (1)",
        "  update t SET n = 1",
        "DELETE FROM t",
        "REPLACE INTO t VALUES (1)",
        "BEGIN IMMEDIATE",
        "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
    ):
        assert may_write(sql), sql
    for sql in ("SELECT * FROM t", "PRAGMA journal_mode", "BEGIN", "WITH x AS (SELECT 1) SELECT * FROM x"):
        assert not may_write(sql), sql


async def test_a_write_transaction_holds_the_turn_until_it_ends(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        driver = await _driver(conn)
        await conn.execute(sa.select(_ITEMS))
        assert not driver.gate.held
        await conn.execute(sa.insert(_ITEMS).values(n=1))
        assert driver.gate.held
        await conn.commit()
        assert not driver.gate.held
        await conn.execute(sa.update(_ITEMS).values(n=2))
        assert driver.gate.held
        await conn.rollback()
        assert not driver.gate.held
        await conn.execute(sa.insert(_ITEMS).values(n=3))
        assert driver.gate.held
    # Closed (returned to the pool with a rollback) with its transaction open: the turn was let go.
    async with engine.connect() as conn:
        assert not (await _driver(conn)).gate.held
        assert (await conn.execute(sa.select(sa.func.count()).select_from(_ITEMS))).scalar_one() == 1


async def test_a_second_writer_waits_for_the_first_to_commit_then_writes(engine: AsyncEngine) -> None:
    async with engine.connect() as first, engine.connect() as second:
        await first.execute(sa.insert(_ITEMS).values(n=1))

        async def write_second() -> None:
            await second.execute(sa.insert(_ITEMS).values(n=2))
            await second.commit()

        waiting = asyncio.create_task(write_second())
        await asyncio.sleep(0.1)
        assert not waiting.done()  # the file is the first one's until it commits
        await first.commit()
        await waiting
        rows = (await first.execute(sa.select(_ITEMS.c.n).order_by(_ITEMS.c.n))).scalars().all()
        assert rows == [1, 2]


async def test_a_connection_collected_in_the_middle_of_a_write_lets_the_others_write(tmp_path: Path) -> None:
    database = str(tmp_path / "dropped.db")
    dropped = sqlite_driver.connect(database, timeout=30.0)
    await dropped
    await dropped.run(lambda c: c.execute("CREATE TABLE t (n INTEGER)"))
    await dropped.run(lambda c: c.commit())
    async with dropped.cursor() as cursor:
        await cursor.execute("INSERT INTO t VALUES (1)")
    assert dropped.gate.held
    dropped.stop()  # its thread ends; nobody closes it
    del cursor, dropped
    gc.collect()
    other = sqlite_driver.connect(database, timeout=30.0)
    await other
    try:
        # The file's turn is free at once: the lock is taken without waiting out the 30 s.
        assert other.gate._lock is not None and other.gate._lock.acquire(blocking=False)
        other.gate._lock.release()
        async with other.cursor() as cursor:
            await cursor.execute("INSERT INTO t VALUES (2)")
        await other.commit()
    finally:
        await other.close()
