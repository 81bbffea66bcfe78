"""The group commit's registry cache: hits between batches, cleared by the database's notification on any
change (made on another connection, as the CLI or another broker process would), bypassed while it does
not listen; on SQLite only the caller check uses it, kept true by the registry's change counter."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.store.registry_cache import RegistryCache
from broker.store.unit_of_work import UnitOfWork
from tests.store.conftest import BANK, MEGLER
from tests.store.test_small_repositories import bank


async def _lookup(engine: AsyncEngine, cache: RegistryCache, *orgnrs: str) -> dict:
    async with UnitOfWork(engine) as uow:
        return await cache.get_many(uow.participants, orgnrs)


async def _register(engine: AsyncEngine, **changes: object) -> None:
    async with UnitOfWork(engine) as uow:
        await uow.participants.upsert(bank(**changes))
        await uow.commit()


async def _until(predicate, within: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(within):
        while not await predicate():
            await asyncio.sleep(0.01)


@pytest.mark.postgres
async def test_a_change_on_another_connection_reaches_the_cache(postgres_url: str) -> None:
    from broker.store import migrate
    from broker.store.engine import create_engine

    await migrate.upgrade(postgres_url)
    broker, operator = create_engine(postgres_url), create_engine(postgres_url)
    cache = RegistryCache(broker)
    try:
        await _register(operator)
        await cache.start()
        assert cache.listening
        assert (await _lookup(broker, cache, BANK, MEGLER))[BANK].active
        reads = cache.reads
        assert (await _lookup(broker, cache, BANK, MEGLER))[BANK].active  # unknown MEGLER is remembered too
        assert cache.reads == reads and cache.hits == 1

        await _register(operator, active=False)  # deactivated elsewhere: the next lookup must see it

        async def deactivated() -> bool:
            return not (await _lookup(broker, cache, BANK))[BANK].active

        await _until(deactivated, within=2.0)
        await _register(operator, orgnr=MEGLER, name="Megler AS")  # a registration clears remembered absences

        async def registered() -> bool:
            return MEGLER in await _lookup(broker, cache, MEGLER)

        await _until(registered, within=2.0)
    finally:
        await cache.stop()
        await broker.dispose()
        await operator.dispose()


@pytest.mark.postgres
async def test_a_resource_changed_on_another_connection_reaches_the_cache(postgres_url: str) -> None:
    """The file-transfer steps read their resource from the cache: a change of its settings or of its access
    list made elsewhere (another broker process, an operator's SQL) must reach every process."""
    from datetime import timedelta

    from broker.domain.file_transfers import ResourceAccess, ResourceSettings
    from broker.store import migrate
    from broker.store.engine import create_engine

    await migrate.upgrade(postgres_url)
    broker, operator = create_engine(postgres_url), create_engine(postgres_url)
    cache = RegistryCache(broker)

    async def put(settings: ResourceSettings) -> None:
        async with UnitOfWork(operator) as uow:
            await uow.participants.upsert(bank())
            await uow.resources.put(settings, replace_access=True)
            await uow.commit()

    async def read() -> ResourceSettings | None:
        async with UnitOfWork(broker) as uow:
            return await cache.resource(uow.resources, "cached_resource")

    try:
        await put(ResourceSettings("cached_resource", time_to_live=timedelta(hours=1)))
        await cache.start()
        assert cache.listening
        assert (await read()) is not None
        reads = cache.reads
        assert (await read()) is not None and cache.reads == reads  # a hit

        granted = ResourceSettings(
            "cached_resource", time_to_live=timedelta(hours=2), access=(ResourceAccess(BANK, True, True),)
        )
        await put(granted)

        async def changed() -> bool:
            found = await read()
            return found is not None and found.time_to_live == timedelta(hours=2) and found.may_send(BANK)

        await _until(changed, within=2.0)
    finally:
        await cache.stop()
        await broker.dispose()
        await operator.dispose()


@pytest.mark.postgres
async def test_without_its_listening_connection_the_cache_reads_the_store(postgres_url: str) -> None:
    import sqlalchemy as sa

    from broker.store import migrate
    from broker.store.engine import create_engine

    await migrate.upgrade(postgres_url)
    broker, operator = create_engine(postgres_url), create_engine(postgres_url)
    cache = RegistryCache(broker, retry_s=0.2)
    try:
        await _register(operator)
        await cache.start()
        await _lookup(broker, cache, BANK)
        async with operator.connect() as conn:  # the server ends the listener's session
            await conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
                )
            )

        async def stopped_listening() -> bool:
            return not cache.listening

        await _until(stopped_listening)
        reads = cache.reads
        await _lookup(broker, cache, BANK)
        await _lookup(broker, cache, BANK)
        assert cache.reads >= reads + 1  # not answered from a copy nobody keeps true

        async def listening_again() -> bool:
            return cache.listening

        await _until(listening_again)
        await _register(operator, active=False)

        async def deactivated() -> bool:
            return not (await _lookup(broker, cache, BANK))[BANK].active

        await _until(deactivated, within=2.0)
    finally:
        await cache.stop()
        await broker.dispose()
        await operator.dispose()


async def test_sqlite_batches_use_the_cache_until_any_connection_changes_the_registry(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from broker.store import migrate
    from broker.store.engine import create_engine

    url = f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}"
    await migrate.upgrade(url)
    engine, operator = create_engine(url), create_engine(url)  # the operator: `dsve participants` elsewhere
    cache = RegistryCache(engine)
    try:
        await cache.start()
        assert not cache.listening
        await _register(operator)
        assert (await _lookup(engine, cache, BANK))[BANK].active
        assert (await _lookup(engine, cache, BANK))[BANK].active
        assert (cache.reads, cache.hits) == (1, 1)  # the change counter had not moved: no read of the parties
        await _register(operator, active=False)  # no notification on SQLite: the counter moved
        assert not (await _lookup(engine, cache, BANK))[BANK].active
        assert cache.reads == 2
    finally:
        await cache.stop()
        await engine.dispose()
        await operator.dispose()


async def test_sqlite_caller_lookups_hit_until_any_connection_changes_the_registry(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from broker.store import migrate
    from broker.store.engine import create_engine

    url = f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}"
    await migrate.upgrade(url)
    broker, operator = create_engine(url), create_engine(url)  # the operator: `dsve participants` elsewhere
    cache = RegistryCache(broker)

    async def current(orgnr: str = BANK):  # type: ignore[no-untyped-def]
        async def read():  # type: ignore[no-untyped-def]
            async with UnitOfWork(broker) as uow:
                return await uow.participants.get(orgnr)

        return await cache.lookup_current(orgnr, read)

    try:
        await cache.start()
        await _register(operator)
        assert (await current()).active
        assert (await current()).active
        assert (cache.reads, cache.hits) == (1, 1)

        await _register(operator, active=False)  # committed by another connection: seen at the next lookup
        assert not (await current()).active
        assert cache.reads == 2
        assert await current(MEGLER) is None  # an unknown orgnr is remembered too ...
        await _register(operator, orgnr=MEGLER, name="Megler AS")
        assert (await current(MEGLER)) is not None  # ... until a registration
        async with operator.begin() as conn:  # SQL typed by an operator bumps the counter as well
            await conn.exec_driver_sql("UPDATE participants SET active = 1 WHERE orgnr = ?", (BANK,))
        assert (await current()).active
    finally:
        await cache.stop()
        await broker.dispose()
        await operator.dispose()


async def test_sqlite_without_the_counter_row_reads_the_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from broker.store import migrate
    from broker.store.engine import create_engine

    url = f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}"
    await migrate.upgrade(url)
    engine = create_engine(url)
    async with engine.begin() as conn:  # a database whose counter nobody keeps must not be trusted
        await conn.exec_driver_sql("DELETE FROM registry_version")
    cache = RegistryCache(engine)

    async def read():  # type: ignore[no-untyped-def]
        return None

    try:
        await cache.lookup_current(BANK, read)
        await cache.lookup_current(BANK, read)
        assert (cache.reads, cache.hits) == (2, 0)
    finally:
        await cache.stop()
        await engine.dispose()


async def test_sqlite_a_batch_after_the_caller_checks_uses_their_read_of_the_counter(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from broker.store import migrate
    from broker.store.engine import create_engine

    url = f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}"
    await migrate.upgrade(url)
    broker, operator = create_engine(url), create_engine(url)  # the operator: `dsve participants` elsewhere
    cache = RegistryCache(broker)

    async def caller_check() -> None:
        async def read():  # type: ignore[no-untyped-def]
            async with UnitOfWork(broker) as uow:
                return await uow.participants.get(BANK)

        await cache.lookup_current(BANK, read)

    async def batch() -> dict:
        async with UnitOfWork(broker) as uow:
            return await cache.get_many(uow.participants, [BANK], after_caller_check=True)

    try:
        await _register(operator)
        assert (await batch())[BANK].active  # no caller check read the counter yet: the batch reads it
        assert cache._version is not None
        await caller_check()
        counted = cache._version.reads
        assert (await batch())[BANK].active
        assert cache._version.reads == counted  # the caller check's read stands for the batch

        await _register(operator, active=False)  # a request arriving after this is checked by a new read ...
        await caller_check()
        assert not (await batch())[BANK].active  # ... which the batch's lookup sees
        assert cache._version.reads == counted + 1
    finally:
        await cache.stop()
        await broker.dispose()
        await operator.dispose()
