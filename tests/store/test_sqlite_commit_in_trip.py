"""A store or settle whose commit rides in its own trip on SQLite, and the caller's commit that then costs none."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from broker.domain.lifecycle import MessageStatus
from broker.store import migrate
from broker.store.engine import create_engine
from broker.store.outbox_kind import OutboxKind
from broker.store.outbox_repository import OutboxEntry
from broker.store.sqlite_driver import OneTripConnection
from broker.store.sqlite_prepared import run_on_connection
from broker.store.sqlite_write_gate import WriteGate
from broker.store.tables import messages, outbox
from broker.store.unit_of_work import UnitOfWork
from tests.store.conftest import BANK, MEGLER, T0, make_message


@pytest.fixture
async def database(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'trips.db'}"
    await migrate.upgrade(url)
    return str(tmp_path / "trips.db")


@pytest.fixture
async def engine(database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    yield engine
    await engine.dispose()


class Trips:
    """Counts the calls queued to one connection's thread."""

    def __init__(self, driver: OneTripConnection, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = driver._execute

        async def counted(*args: object, **kwargs: object) -> object:
            self.count += 1
            return await original(*args, **kwargs)

        monkeypatch.setattr(driver, "_execute", counted)


async def _trips(conn: AsyncConnection, monkeypatch: pytest.MonkeyPatch) -> tuple[OneTripConnection, Trips]:
    driver = (await conn.get_raw_connection()).driver_connection
    assert isinstance(driver, OneTripConnection)
    return driver, Trips(driver, monkeypatch)


def _stored_ids(database: str) -> list[str]:
    """What another connection sees: only what was committed."""
    with sqlite3.connect(database) as other:
        return [row[0] for row in other.execute("SELECT id FROM messages ORDER BY seq")]


def _insert(connection: sqlite3.Connection, gate: WriteGate, id_: str) -> str:
    gate.before(connection, "INSERT")
    try:
        connection.execute("INSERT INTO registry_version (id, n) VALUES (?, 0)", (int(id_),))
        return id_
    finally:
        gate.after(connection)


def _versions(database: str) -> list[int]:
    with sqlite3.connect(database) as other:
        return [row[0] for row in other.execute("SELECT id FROM registry_version ORDER BY id")]


async def test_a_trip_that_commits_leaves_the_callers_commit_nothing_to_do(
    engine: AsyncEngine, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _versions(database)
    async with engine.connect() as conn:
        _, trips = await _trips(conn, monkeypatch)
        await run_on_connection(conn, _insert, "7", commit_if=lambda _: True)
        assert _versions(database) == sorted([*before, 7])  # committed by the trip itself
        await conn.commit()
        assert trips.count == 1  # the commit made no trip
        await run_on_connection(conn, _insert, "8")  # an ordinary trip: its caller's commit is a trip again
        await conn.commit()
        assert trips.count == 3
    assert _versions(database) == sorted([*before, 7, 8])


async def test_a_trip_that_does_not_commit_leaves_the_transaction_to_the_caller(
    engine: AsyncEngine, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _versions(database)
    async with engine.connect() as conn:
        _, trips = await _trips(conn, monkeypatch)
        await run_on_connection(conn, _insert, "7", commit_if=lambda _: False)
        assert _versions(database) == before
        await conn.rollback()
        assert trips.count == 2
    assert _versions(database) == before


async def test_any_call_after_the_trip_makes_the_commit_a_trip_again(
    engine: AsyncEngine, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with engine.connect() as conn:
        driver, trips = await _trips(conn, monkeypatch)
        await run_on_connection(conn, _insert, "7", commit_if=lambda _: True)
        assert driver.transaction_ended
        await conn.execute(sa.text("INSERT INTO registry_version (id, n) VALUES (9, 0)"))
        assert not driver.transaction_ended
        await conn.rollback()  # undoes the insert after the trip's commit, not the trip's own
        assert trips.count == 3
    assert 7 in _versions(database) and 9 not in _versions(database)


async def test_a_lone_new_message_is_stored_and_committed_in_one_trip(
    engine: AsyncEngine, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = make_message()
    entry = OutboxEntry(OutboxKind.MESSAGE, message.id, "route", {})
    async with UnitOfWork(engine) as uow:
        _, trips = await _trips(uow.connection, monkeypatch)
        added = await uow.messages.add_new([message], [entry], then_commit=True)
        assert [m.id for m in added.stored] == [message.id]
        assert _stored_ids(database) == [message.id]
        await uow.commit()
        assert trips.count == 1


async def test_a_batch_with_a_stored_message_waits_for_the_callers_commit(
    engine: AsyncEngine, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored, fresh = make_message(), make_message(sender_reference="SAK-2")
    async with UnitOfWork(engine) as uow:
        await uow.messages.add_new([stored], [], then_commit=True)
        await uow.commit()
    async with UnitOfWork(engine) as uow:
        _, trips = await _trips(uow.connection, monkeypatch)
        added = await uow.messages.add_new([stored, fresh], [], then_commit=True)
        assert [m.id for m in added.skipped] == [stored.id]
        assert _stored_ids(database) == [stored.id]  # the caller may still look the skipped one up first
        await uow.commit()
        assert trips.count == 2
    assert _stored_ids(database) == [stored.id, fresh.id]


def _published_status(database: str, message_id: str) -> str:
    with sqlite3.connect(database) as other:
        (status,) = other.execute("SELECT status FROM messages WHERE id = ?", (message_id,)).fetchone()
        return str(status)


async def test_a_settle_that_moved_every_message_commits_in_its_trip(
    engine: AsyncEngine, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = make_message(BANK, MEGLER)
    async with UnitOfWork(engine) as uow:
        await uow.messages.add_new([message], [OutboxEntry(OutboxKind.MESSAGE, message.id, "route", {})])
        await uow.commit()
    async with engine.connect() as conn:
        (outbox_id,) = (await conn.execute(sa.select(outbox.c.id))).scalars().all()
    at = T0 + timedelta(seconds=1)
    async with UnitOfWork(engine) as uow:
        _, trips = await _trips(uow.connection, monkeypatch)
        await uow.statuses.settle_published([outbox_id], {message.id: at}, at, frozenset(), then_commit=True)
        assert _published_status(database, message.id) == MessageStatus.PUBLISHED.value
        await uow.commit()
        assert trips.count == 1


async def test_a_settle_that_left_a_message_behind_leaves_the_commit_to_the_caller(
    engine: AsyncEngine, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = make_message(BANK, MEGLER)
    async with UnitOfWork(engine) as uow:
        await uow.messages.add_new([message], [])
        await uow.commit()
    async with engine.begin() as conn:  # a recipient was quicker than the relay's record
        await conn.execute(
            sa.update(messages).where(messages.c.id == message.id).values(status=MessageStatus.DOWNLOADED.value)
        )
    at = T0 + timedelta(seconds=1)
    async with UnitOfWork(engine) as uow:
        _, trips = await _trips(uow.connection, monkeypatch)
        await uow.statuses.settle_published([], {message.id: at}, at, frozenset(), then_commit=True)
        assert trips.count > 1  # the overtaken step was recorded after the trip, in the same transaction
        await uow.commit()
    history = await _history(engine, message.id)
    assert MessageStatus.PUBLISHED.value in history


async def _history(engine: AsyncEngine, message_id: str) -> list[str]:
    async with UnitOfWork(engine) as uow:
        return [entry.status.value for entry in await uow.history.for_message(message_id)]


async def test_a_read_leaves_nothing_to_commit_or_roll_back(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with engine.connect() as conn:
        driver, trips = await _trips(conn, monkeypatch)
        assert (await conn.execute(sa.text("SELECT n FROM registry_version WHERE id = 1"))).scalar() == 0
        assert driver.transaction_ended
        await conn.commit()
        await conn.execute(sa.text("SELECT 1"))
        await conn.rollback()
        assert trips.count == 2  # the two reads; neither the commit nor the rollback woke the thread


async def test_a_call_cancelled_before_it_ran_leaves_the_commit_its_trip(
    engine: AsyncEngine, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cancelled insert still runs on the thread and opens a transaction: the commit must reach it."""
    release = threading.Event()
    async with engine.connect() as conn:
        driver, trips = await _trips(conn, monkeypatch)
        blocking = asyncio.create_task(driver.run(lambda _connection: release.wait(5)))
        await asyncio.sleep(0)
        queued = asyncio.create_task(driver.run(_insert, driver.gate, "7"))
        await asyncio.sleep(0)
        queued.cancel()
        release.set()
        assert await blocking
        with pytest.raises(asyncio.CancelledError):
            await queued
        assert not driver.transaction_ended  # the blocking call left none open, but another was queued after it
        await driver.commit()
        assert trips.count == 3
    assert 7 in _versions(database)
