"""The async engine for the store: SQLite (embedded default) or PostgreSQL (cluster).

SQLite is tuned on every new connection: WAL lets readers run while one writer commits, ``busy_timeout``
makes a second writer wait instead of failing, ``synchronous=NORMAL`` is durable with WAL except for the
last transactions on power loss (not on a process crash), and foreign keys are enforced (SQLite's default
leaves them off).
PostgreSQL gets a bounded pool with pre-ping, so a restarted server costs one retry, not a failed request.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from broker.json_text import json_str, json_value
from broker.store import sqlite_driver

SQLITE_BUSY_TIMEOUT_MS = 30_000
WAL_SWITCH_ATTEMPTS = 100  # x 20 ms
POSTGRES_POOL_SIZE = 10
POSTGRES_MAX_OVERFLOW = 10
POSTGRES_POOL_RECYCLE_S = 1800

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def async_url(url: str | URL) -> URL:
    """The URL with its async driver: ``postgresql://`` and ``sqlite://`` as people write them are accepted."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    return parsed.set(drivername=driver) if driver else parsed


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _use_wal(cursor: Any) -> None:
    """Switch a database file to WAL (it stays so; later connections find it switched).

    Switching needs the file to itself and SQLite answers "database is locked" at once, without its busy
    handler, when another connection holds it: brokers starting together on a fresh file met exactly that.
    So the switch is retried for up to two seconds, and only tried while the file is not in WAL yet.
    """
    for attempt in range(WAL_SWITCH_ATTEMPTS):
        cursor.execute("PRAGMA journal_mode")
        if str(cursor.fetchone()[0]).lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == WAL_SWITCH_ATTEMPTS - 1:
                raise
            time.sleep(0.02)  # only on a brand-new file, while another connection sets it up


def sqlite_file(url: str | URL) -> str | None:
    """The file of an SQLite URL; None for PostgreSQL and in-memory SQLite (which no other engine sees)."""
    parsed = make_url(url)
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if parsed.get_backend_name() != "sqlite" or in_memory or parsed.query.get("mode") == "memory":
        return None
    return database


def create_engine(url: str | URL, *, echo: bool = False, background_checkpoints: bool = False) -> AsyncEngine:
    """An engine for ``url``; for an SQLite file, its directory is created if missing.

    ``background_checkpoints``: commits on this engine's connections never checkpoint the SQLite WAL; the
    caller runs ``broker.store.wal_checkpoints.WalCheckpoints`` (the broker server does)."""
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, echo=echo, background_checkpoints=background_checkpoints)
    return create_async_engine(
        parsed,
        echo=echo,
        pool_size=POSTGRES_POOL_SIZE,
        max_overflow=POSTGRES_MAX_OVERFLOW,
        pool_pre_ping=True,
        pool_recycle=POSTGRES_POOL_RECYCLE_S,
        json_serializer=json_str,
        json_deserializer=json_value,
    )


def _sqlite_engine(url: URL, *, echo: bool, background_checkpoints: bool) -> AsyncEngine:
    database = sqlite_file(url)
    in_memory = database is None
    if database is not None:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url,
        echo=echo,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "async_creator_fn": sqlite_driver.connect},
        json_serializer=json_str,
        json_deserializer=json_value,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _tune(dbapi_connection: Any, _record: Any) -> None:
        tune_sqlite(dbapi_connection, in_memory=in_memory, background_checkpoints=background_checkpoints)

    return engine


def tune_sqlite(connection: Any, *, in_memory: bool, background_checkpoints: bool) -> None:
    """The settings of every connection the broker opens to an SQLite database (see the module), for a
    DB-API connection: the engine's, or one a thread keeps of its own (``sqlite_heartbeat``)."""
    cursor = connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if not in_memory:
            _use_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        if background_checkpoints and not in_memory:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()
