"""Schema migrations as async functions: upgrade, downgrade and the current revision.

The Alembic configuration is built here in code, so neither the installed package nor a deployment needs
an ``alembic.ini``. Alembic itself is synchronous; it runs inside ``AsyncConnection.run_sync``, which
drives the async driver from a greenlet, so the event loop is not blocked on database I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.store.engine import create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Several broker processes may start at once against one PostgreSQL, each migrating first: a transaction-level
# advisory lock makes them take turns, so the second finds the schema current instead of racing to create it.
# On SQLite the same is done by taking its write lock first (pysqlite would run the DDL outside any transaction).
MIGRATION_LOCK_KEY = 0x44535645  # "DSVE"


def alembic_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration for the broker's migrations, bound to ``connection`` when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision the code knows; a database at this revision matches ``broker.store.tables``."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


_T = TypeVar("_T")


async def _on(url_or_engine: str | URL | AsyncEngine, work: Callable[[Connection], _T]) -> _T:
    engine = url_or_engine if isinstance(url_or_engine, AsyncEngine) else create_engine(url_or_engine)
    try:
        async with engine.connect() as connection:
            result = await connection.run_sync(work)
            await connection.commit()
            return result
    finally:
        if engine is not url_or_engine:
            await engine.dispose()


def _locked(connection: Connection) -> Connection:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    return connection


async def upgrade(url: str | URL | AsyncEngine, revision: str = "head") -> None:
    """Bring the database up to ``revision``; a database already there is left as it is."""
    await _on(url, lambda connection: command.upgrade(alembic_config(_locked(connection)), revision))


async def downgrade(url: str | URL | AsyncEngine, revision: str) -> None:
    """Take the database down to ``revision`` (``base`` drops every table the migrations made)."""
    await _on(url, lambda connection: command.downgrade(alembic_config(_locked(connection)), revision))


async def current(url: str | URL | AsyncEngine) -> str | None:
    """The database's revision, or None for a database the migrations have never touched."""
    return await _on(url, lambda connection: MigrationContext.configure(connection).get_current_revision())
