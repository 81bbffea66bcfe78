"""The migrations build exactly the tables the code defines, and take them away again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from broker.store import migrate
from broker.store.engine import create_engine
from broker.store.tables import metadata


async def _diff_and_tables(url: str) -> tuple[list, set[str]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:

            def inspect(sync_connection: sa.Connection) -> tuple[list, set[str]]:
                context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
                return compare_metadata(context, metadata), set(sa.inspect(sync_connection).get_table_names())

            return await connection.run_sync(inspect)
    finally:
        await engine.dispose()


async def test_upgrade_builds_the_metadata_and_downgrade_removes_it(database_url: str) -> None:
    assert await migrate.current(database_url) is None

    await migrate.upgrade(database_url)
    assert await migrate.current(database_url) == migrate.head_revision()
    diff, tables = await _diff_and_tables(database_url)
    assert diff == []
    assert set(metadata.tables) <= tables

    await migrate.upgrade(database_url)  # a second upgrade is a no-op
    assert await migrate.current(database_url) == migrate.head_revision()

    await migrate.downgrade(database_url, "base")
    assert await migrate.current(database_url) is None
    _, tables = await _diff_and_tables(database_url)
    assert tables <= {"alembic_version"}


async def test_migrations_accept_an_engine(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate.upgrade(engine)
        assert await migrate.current(engine) == migrate.head_revision()
    finally:
        await engine.dispose()


async def test_sqlite_connections_are_tuned(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'nested' / 'broker.db'}")
    try:
        async with engine.connect() as connection:
            pragmas = {
                name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
    finally:
        await engine.dispose()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30_000, "synchronous": 1}


async def test_brokers_starting_together_migrate_one_after_the_other(database_url: str) -> None:
    await asyncio.gather(*(migrate.upgrade(database_url) for _ in range(4)))
    assert await migrate.current(database_url) == migrate.head_revision()
    diff, _ = await _diff_and_tables(database_url)
    assert diff == []


async def _content_compression(url: str) -> str:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            query = (
                "SELECT attcompression::text FROM pg_attribute"
                " WHERE attrelid = 'messages'::regclass AND attname = 'content'"
            )
            return str(await connection.scalar(sa.text(query)))
    finally:
        await engine.dispose()


async def test_message_content_is_compressed_with_lz4_on_postgresql(postgres_url: str) -> None:
    await migrate.upgrade(postgres_url)
    assert await _content_compression(postgres_url) == "l"
    await migrate.downgrade(postgres_url, "0005")
    assert await _content_compression(postgres_url) == ""  # the server's default again


async def test_published_outbox_rows_are_deleted_and_waiting_ones_kept(database_url: str) -> None:
    """Migration 0016: the outbox keeps only what waits to be published; nothing read the published rows."""
    await migrate.upgrade(database_url, "0015")
    engine = create_engine(database_url)
    insert = sa.text(
        "INSERT INTO outbox (kind, message_id, routing_key, headers, created_at, attempts, published_at)"
        " VALUES ('event', :message_id, '910000004.accepted', '{}', :at, 1, :published_at)"
    )
    at = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    try:
        async with engine.begin() as connection:
            await connection.execute(insert, [{"message_id": "sent", "at": at, "published_at": at}])
            await connection.execute(insert, [{"message_id": "waiting", "at": at, "published_at": None}])
        await migrate.upgrade(database_url)
        async with engine.connect() as connection:
            left = (await connection.execute(sa.text("SELECT message_id FROM outbox"))).scalars().all()
    finally:
        await engine.dispose()
    assert left == ["waiting"]
