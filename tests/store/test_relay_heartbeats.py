"""A relay that stops beating is taken for dead, and the rows it leased are released to the others."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.domain.clock import utc_now
from broker.routing.relay_liveness import RelayLiveness
from broker.store import migrate
from broker.store.engine import SQLITE_BUSY_TIMEOUT_MS, create_engine
from broker.store.relay_heartbeats import RelayHeartbeats
from broker.store.sqlite_heartbeat import FileHeartbeat
from broker.store.tables import outbox, relay_heartbeats


async def _leased_row(engine: AsyncEngine, owner: str | None) -> int:
    async with engine.begin() as conn:
        result = await conn.execute(
            sa.insert(outbox)
            .values(
                kind="event",
                message_id="m-" + (owner or "none"),
                routing_key="910000004.accepted",
                headers={},
                body=b"[]",
                created_at=utc_now(),
                attempts=1,
                lease_until=utc_now() + timedelta(seconds=30),
                leased_by=owner,
            )
            .returning(outbox.c.id)
        )
        return int(result.scalar_one())


async def _lease_of(engine: AsyncEngine, row_id: int) -> tuple[object, object]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(sa.select(outbox.c.lease_until, outbox.c.leased_by).where(outbox.c.id == row_id))
        ).one()
        return row.lease_until, row.leased_by


async def test_the_rows_of_a_relay_that_stopped_beating_are_released(engine: AsyncEngine) -> None:
    alive = RelayHeartbeats(engine, "alive", dead_after_s=0.5)
    dead = RelayHeartbeats(engine, "dead", dead_after_s=0.5)
    await alive.beat()
    await dead.beat()
    alive_row, dead_row = await _leased_row(engine, "alive"), await _leased_row(engine, "dead")

    assert await alive.take_over_orphans() == 0  # both beat just now
    await asyncio.sleep(0.7)
    await alive.beat()  # "dead" does not beat again
    assert await alive.take_over_orphans() == 1
    assert await _lease_of(engine, dead_row) == (None, None)
    assert (await _lease_of(engine, alive_row))[1] == "alive"
    async with engine.connect() as conn:
        owners = set((await conn.scalars(sa.select(relay_heartbeats.c.owner))).all())
    assert owners == {"alive"}


async def test_rows_of_a_relay_that_never_beat_are_released_and_a_stop_releases_its_own(engine: AsyncEngine) -> None:
    relay = RelayHeartbeats(engine, "me")
    await relay.beat()
    stranger = await _leased_row(engine, "never-beat")
    mine = await _leased_row(engine, "me")
    assert await relay.take_over_orphans() == 1
    assert await _lease_of(engine, stranger) == (None, None)
    await relay.stop()
    assert await _lease_of(engine, mine) == (None, None)


def _age_of_beat(url: URL, owner: str) -> float:
    """Seconds since ``owner`` last beat, read on an engine of its own (from another thread)."""

    async def read() -> float:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                query = sa.select(relay_heartbeats.c.beat_at).where(relay_heartbeats.c.owner == owner)
                beat_at = (await conn.execute(query)).scalar_one()
        finally:
            await engine.dispose()
        return (utc_now() - beat_at).total_seconds()

    return asyncio.run(read())


async def test_a_relay_whose_event_loop_is_held_up_still_beats(engine: AsyncEngine) -> None:
    liveness = RelayLiveness(RelayHeartbeats(engine, "busy"), lambda: None)
    await liveness.start()
    try:
        with ThreadPoolExecutor(1) as pool:
            # Read while the loop is held up, as a long garbage collection or a starved CPU holds it.
            age = pool.submit(lambda: (time.sleep(3.5), _age_of_beat(engine.url, "busy"))[1])
            time.sleep(4.5)
            seconds_since_beat = age.result()
    finally:
        await liveness.stop()
    assert seconds_since_beat < 3.0  # beaten during the hold-up: the others do not take it for dead


async def test_a_file_heartbeat_is_what_the_engine_s_beat_is(tmp_path: Path) -> None:
    """The plain thread's beat on an SQLite file: the same row, the same stored form, the same answers."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}"
    await migrate.upgrade(url)
    engine = create_engine(url)
    heartbeat = FileHeartbeat(str(tmp_path / "broker.db"), "file", SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        assert heartbeat.beat() is False  # the first beat inserts the row
        assert heartbeat.beat() is True
        await RelayHeartbeats(engine, "engine").beat()
        async with engine.connect() as conn:
            stored = dict((await conn.exec_driver_sql("SELECT owner, beat_at FROM relay_heartbeats")).all())
        assert len(stored["file"]) == len(stored["engine"]) and stored["file"][:16] == stored["engine"][:16]

        leased = await _leased_row(engine, "file")
        judge = RelayHeartbeats(engine, "judge", dead_after_s=0.5)
        assert await judge.take_over_orphans() == 0  # it beat just now
        await asyncio.sleep(0.7)
        assert await judge.take_over_orphans() == 1  # silent for longer than a relay may be
        assert await _lease_of(engine, leased) == (None, None)
        assert heartbeat.beat() is False  # its row was deleted: it was taken for dead
    finally:
        heartbeat.close()
        await engine.dispose()


async def test_a_file_heartbeat_that_fails_opens_a_fresh_connection_next_time(tmp_path: Path) -> None:
    heartbeat = FileHeartbeat(str(tmp_path / "none.db"), "file", 0.1)  # no migrations: no table
    with pytest.raises(sqlite3.OperationalError):
        heartbeat.beat()
    assert heartbeat._connection is None
    url = f"sqlite+aiosqlite:///{tmp_path / 'none.db'}"
    await migrate.upgrade(url)
    assert heartbeat.beat() is False
    heartbeat.close()
