"""The SQLite connection of the broker's engine: one trip to its thread per statement, same answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from broker.store.engine import create_engine
from broker.store.sqlite_driver import OneTripConnection

_ITEMS = sa.Table(
    "items",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(20), nullable=False, unique=True),
    sa.Column("size", sa.Integer, nullable=False),
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(_ITEMS.metadata.create_all)
    yield engine
    await engine.dispose()


async def _driver(conn: AsyncConnection) -> OneTripConnection:
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, OneTripConnection)
    return driver


async def test_rows_counts_and_keys_come_back_as_from_sqlite(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        first = await conn.execute(sa.insert(_ITEMS).values(name="a", size=1))
        assert first.inserted_primary_key == (1,)
        await conn.execute(sa.insert(_ITEMS), [{"name": f"n{i}", "size": i} for i in range(2, 6)])
        returned = await conn.execute(
            sa.insert(_ITEMS).returning(_ITEMS.c.id, sort_by_parameter_order=True),
            [{"name": "x", "size": 10}, {"name": "y", "size": 11}],
        )
        assert list(returned.scalars()) == [6, 7]
        changed = await conn.execute(sa.update(_ITEMS).where(_ITEMS.c.size < 4).values(size=0))
        assert changed.rowcount == 3
        rows = (await conn.execute(sa.select(_ITEMS.c.name, _ITEMS.c.size).order_by(_ITEMS.c.id))).all()
        assert [tuple(r) for r in rows] == [
            ("a", 0), ("n2", 0), ("n3", 0), ("n4", 4), ("n5", 5), ("x", 10), ("y", 11)
        ]  # fmt: skip
        assert (await conn.execute(sa.select(_ITEMS).where(_ITEMS.c.size > 99))).first() is None
        partial = await conn.execute(sa.select(_ITEMS.c.id).order_by(_ITEMS.c.id))
        assert partial.fetchmany(2) == [(1,), (2,)]
        assert partial.fetchone() == (3,)


async def test_a_failed_statement_raises_and_the_transaction_rolls_back(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(sa.insert(_ITEMS).values(name="a", size=1))
        await conn.commit()
        await conn.execute(sa.insert(_ITEMS).values(name="b", size=2))
        with pytest.raises(IntegrityError):
            await conn.execute(sa.insert(_ITEMS).values(name="a", size=3))
        await conn.rollback()
        names = (await conn.execute(sa.select(_ITEMS.c.name))).scalars().all()
        assert names == ["a"]


async def test_one_trip_to_the_connections_thread_per_statement(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with engine.connect() as conn:
        driver = await _driver(conn)
        trips = 0
        original = driver._execute

        async def counted(*args: object, **kwargs: object) -> object:
            nonlocal trips
            trips += 1
            return await original(*args, **kwargs)

        monkeypatch.setattr(driver, "_execute", counted)
        await conn.execute(sa.insert(_ITEMS), [{"name": f"n{i}", "size": i} for i in range(3)])
        assert trips == 1
        assert len((await conn.execute(sa.select(_ITEMS))).all()) == 3
        assert trips == 2
        await conn.commit()
        assert trips == 3
