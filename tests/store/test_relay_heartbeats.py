"""A relay that stops beating is taken for dead, and the rows it leased are released to the others."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.domain.clock import utc_now
from broker.routing.relay_liveness import RelayLiveness
from broker.store.engine import create_engine
from broker.store.relay_heartbeats import RelayHeartbeats
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
