"""Statements prepared for SQLite's thread write exactly what SQLAlchemy writes for the same values."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from broker.store import migrate
from broker.store.engine import create_engine
from broker.store.sqlite_prepared import Prepared, bound
from broker.store.tables import outbox

_COLUMNS = (
    "kind",
    "message_id",
    "routing_key",
    "headers",
    "body",
    "created_at",
    "attempts",
    "lease_until",
    "leased_by",
)


async def test_a_prepared_insert_stores_what_sqlalchemy_stores(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}"
    await migrate.upgrade(url)
    oslo = timezone(timedelta(hours=1))
    values = {
        "kind": "message",
        "message_id": "m-1",
        "routing_key": "930000000.pantedokument",
        "headers": {"sender": "910000004", "ø": "æ"},
        "body": b"\x00<xml/>",
        "created_at": datetime(2026, 12, 6, 23, 0, 1, 5, tzinfo=oslo),  # stored in UTC
        "attempts": 1,
        "lease_until": None,
        "leased_by": "relay-1",
    }
    # naive timestamps are taken as UTC; a year before 1000 still has four digits
    naive = {**values, "created_at": datetime(999, 1, 2, 3, 4, 5), "lease_until": datetime(2026, 12, 7, 1, 2, 3)}
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.insert(outbox), [values, naive])
    finally:
        await engine.dispose()
    prepared = Prepared.of(sa.insert(outbox).values(bound(outbox, _COLUMNS)))
    with sqlite3.connect(tmp_path / "broker.db") as connection:
        connection.executemany(prepared.sql, [prepared.parameters(values), prepared.parameters(naive)])
        columns = ", ".join(f"{c}, typeof({c})" for c in _COLUMNS)
        rows = connection.execute(f"SELECT {columns} FROM outbox ORDER BY id").fetchall()
    assert rows[2:] == rows[:2]
    assert "2026-12-06 22:00:01.000005" in rows[0]  # UTC, SQLAlchemy's text form
    assert "0999-01-02 03:04:05.000000" in rows[1]


def test_a_statement_s_own_literals_are_bound_with_it() -> None:
    statement = sa.update(outbox).where(outbox.c.id == sa.bindparam("id", type_=outbox.c.id.type))
    prepared = Prepared.of(statement.values(lease_until=None, attempts=outbox.c.attempts + 1))
    assert prepared.sql == "UPDATE outbox SET attempts=(outbox.attempts + ?), lease_until=? WHERE outbox.id = ?"
    assert prepared.parameters({"id": 7}) == (1, None, 7)
    assert "id" not in prepared.constants
