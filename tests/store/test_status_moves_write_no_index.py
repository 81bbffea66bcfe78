"""A status move along the main line writes no index; the passes find messages by the columns set once."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from broker.domain.lifecycle import MessageStatus
from broker.store import migrate
from broker.store.console_message_queries import ConsoleMessageQueries
from broker.store.engine import create_engine
from broker.store.unit_of_work import UnitOfWork
from tests.store.conftest import MEGLER, T0, make_message

# The columns a move writes on every step; a move that closes a message or dead-letters it writes its own.
_MOVED = re.compile(r"\bstatus(_changed_at)?\b")


async def _index_definitions(connection: AsyncConnection) -> list[str]:
    """Every index of the messages table as the database holds it: its columns, and its predicate if any."""
    if connection.dialect.name == "postgresql":
        rows = await connection.execute(sa.text("SELECT indexdef FROM pg_indexes WHERE tablename = 'messages'"))
        return [row.indexdef for row in rows]

    def read(sync: sa.Connection) -> list[str]:
        names = [row[1] for row in sync.exec_driver_sql("PRAGMA index_list(messages)")]
        columns = [
            " ".join(str(info[2]) for info in sync.exec_driver_sql(f"PRAGMA index_info('{name}')")) for name in names
        ]
        sql = [
            row[0] or "" for row in sync.exec_driver_sql("SELECT sql FROM sqlite_master WHERE tbl_name = 'messages'")
        ]
        return columns + [s for s in sql if s.upper().startswith("CREATE INDEX")]

    return await connection.run_sync(read)


async def _updates_and_hot_updates(connection: AsyncConnection) -> tuple[int, int]:
    """The messages table's updates in this transaction so far, and how many of them were heap-only."""
    counts = await connection.execute(
        sa.text("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'messages'")
    )
    updates, hot = counts.one()
    return int(updates), int(hot)


async def test_no_index_of_the_messages_table_names_a_column_every_move_writes(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        definitions = await _index_definitions(connection)
    assert len(definitions) >= 7  # the key, the number, the sender's id, two listings, two references, ...
    assert [d for d in definitions if _MOVED.search(d)] == []
    assert any("closed_at" in d for d in definitions) and any("dead_lettered_at" in d for d in definitions)


async def test_on_postgresql_the_main_line_moves_are_heap_only_updates(postgres_url: str) -> None:
    await migrate.upgrade(postgres_url)
    engine = create_engine(postgres_url)
    message = make_message()
    try:
        async with UnitOfWork(engine) as uow:
            await uow.messages.add(message)
            await uow.commit()
        async with UnitOfWork(engine) as uow:
            # The relay's settle (its own statement on PostgreSQL), then the recipient's download and confirm.
            await uow.statuses.settle_published([], {message.id: T0}, T0, ())
            await uow.statuses.move_one(message.id, MessageStatus.DOWNLOADED, actor=MEGLER, at=T0)
            assert await _updates_and_hot_updates(uow.connection) == (2, 2)
            await uow.statuses.move_one(message.id, MessageStatus.CONFIRMED, actor=MEGLER, at=T0)
            assert await _updates_and_hot_updates(uow.connection) == (
                3,
                2,
            )  # closing writes the purge pass's index: the one move that does
            options = await uow.connection.scalar(sa.text("SELECT reloptions FROM pg_class WHERE relname = 'messages'"))
            assert "fillfactor=50" in options
    finally:
        await engine.dispose()


async def test_the_markers_follow_the_moves(engine: AsyncEngine) -> None:
    message = make_message(ttl=timedelta(days=1))
    async with UnitOfWork(engine) as uow:
        await uow.messages.add(message)
        moves = uow.statuses
        await moves.move_one(message.id, MessageStatus.PUBLISHED, actor="relay", at=T0)
        await moves.move_one(message.id, MessageStatus.DEAD_LETTERED, actor="broker", at=T0 + timedelta(minutes=1))
        console = ConsoleMessageQueries(uow.connection, None)
        assert [m.id for m in await console.dead_letters()] == [message.id]
        # Out of the dead letters again (a redelivery): no longer listed, still open.
        await moves.move_one(message.id, MessageStatus.PUBLISHED, actor="broker", at=T0 + timedelta(minutes=2))
        assert await console.dead_letters() == []
        assert await moves.purge_due(T0 + timedelta(days=9), T0 + timedelta(days=9)) == []
        # Closed by its confirm: no longer expirable, purged once retention has passed since the confirm.
        confirmed_at = T0 + timedelta(hours=2)
        await moves.move_one(message.id, MessageStatus.CONFIRMED, actor=MEGLER, at=confirmed_at)
        assert await moves.expire_due(T0 + timedelta(days=2)) == []
        assert await moves.purge_due(confirmed_at - timedelta(seconds=1), T0 + timedelta(days=3)) == []
        purged = await moves.purge_due(confirmed_at, T0 + timedelta(days=3))
        assert [m.message_id for m in purged] == [message.id]
        assert await moves.purge_due(T0 + timedelta(days=9), T0 + timedelta(days=9)) == []
        await uow.commit()


async def test_the_migration_sets_the_markers_of_messages_stored_before_it(database_url: str) -> None:
    await migrate.upgrade(database_url, "0014")
    engine = create_engine(database_url)
    by_status = {status: make_message() for status in MessageStatus}
    try:
        async with engine.begin() as connection:
            for status, message in by_status.items():
                await connection.execute(
                    sa.text(
                        "INSERT INTO messages (id, seq, message_type, message_id, sender, recipient, sender_reference,"
                        " signer_subject, size, sha256, content, status, accepted_at, expires_at, status_changed_at)"
                        " VALUES (:id, :seq, 't', :id, :sender, :recipient, 'S', 'CN=x', 1, 'h', :content, :status,"
                        " :at, :at, :changed)"
                    ),
                    {
                        "id": message.id,
                        "seq": len(by_status) - list(by_status).index(status),
                        "sender": message.sender,
                        "recipient": message.recipient,
                        "content": None if status is MessageStatus.PURGED else b"<x/>",
                        "status": status.value,
                        "at": T0,
                        "changed": T0 + timedelta(hours=1),
                    },
                )
        await migrate.upgrade(database_url)
        async with UnitOfWork(engine) as uow:
            markers = {
                row.id: (row.closed_at, row.dead_lettered_at)
                for row in await uow.connection.execute(sa.text("SELECT id, closed_at, dead_lettered_at FROM messages"))
            }
            expirable = await uow.statuses.expire_due(T0 + timedelta(days=1))
            purgeable = await uow.statuses.purge_due(T0 + timedelta(hours=12), T0 + timedelta(days=1))
    finally:
        await engine.dispose()
    closed = {MessageStatus.CONFIRMED, MessageStatus.EXPIRED, MessageStatus.PURGED}
    for status, message in by_status.items():
        closed_at, dead_lettered_at = markers[message.id]
        assert (closed_at is not None) == (status in closed), status
        assert (dead_lettered_at is not None) == (status is MessageStatus.DEAD_LETTERED), status
    open_ = {MessageStatus.ACCEPTED, MessageStatus.PUBLISHED, MessageStatus.DOWNLOADED, MessageStatus.DEAD_LETTERED}
    assert {m.message_id for m in expirable} == {by_status[s].id for s in open_}
    # Closed an hour after T0; the ones just expired closed a day after it, after the cutoff.
    assert {m.message_id for m in purgeable} == {
        by_status[s].id for s in (MessageStatus.CONFIRMED, MessageStatus.EXPIRED)
    }
