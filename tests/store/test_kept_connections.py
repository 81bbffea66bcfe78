"""A unit of work on a kept connection commits what it wrote, and only that, on both stores.

On SQLite the group commit writes its batch on the connection's own thread (``sqlite_add_new``), past
SQLAlchemy's statement layer: the commit must still reach the file before the submitter is answered, and
what a unit of work left uncommitted must not be committed later by whoever takes the connection next.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.store import migrate
from broker.store.engine import create_engine
from broker.store.kept_connections import KeptConnections
from broker.store.tables import messages
from tests.store.conftest import make_message


async def _stored_ids(engine: AsyncEngine) -> set[str]:
    """What a connection of its own sees (on SQLite: another connection to the file, so only commits)."""
    async with engine.connect() as conn:
        return set((await conn.execute(sa.select(messages.c.id))).scalars())


async def test_a_committed_unit_of_work_is_in_the_store_when_it_ends(engine: AsyncEngine) -> None:
    kept = KeptConnections(engine)
    message = make_message()
    try:
        async with kept.unit_of_work() as uow:
            added = await uow.messages.add_new([message], [])
            await uow.commit()
        assert [m.id for m in added.stored] == [message.id]
        assert message.id in await _stored_ids(engine)
    finally:
        await kept.close()


async def test_on_sqlite_what_a_unit_of_work_did_not_commit_is_gone_and_not_committed_by_the_next(
    tmp_path: Path,
) -> None:
    # SQLite only: on PostgreSQL a kept connection is in autocommit, where each statement commits itself.
    url = f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}"
    await migrate.upgrade(url)
    engine = create_engine(url)
    kept = KeptConnections(engine, idle_max=1)  # one connection: the next unit of work gets the same one
    dropped, kept_message = make_message(), make_message()
    try:
        async with kept.unit_of_work() as uow:
            await uow.messages.add_new([dropped], [])
        async with kept.unit_of_work() as uow:
            await uow.messages.add_new([kept_message], [])
            await uow.commit()
        async with kept.transaction() as conn:
            await conn.execute(sa.select(1))
        stored = await _stored_ids(engine)
        assert kept_message.id in stored
        assert dropped.id not in stored
    finally:
        await kept.close()
        await engine.dispose()
