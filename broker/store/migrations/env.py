"""Alembic environment: run by ``broker.store.migrate`` on an open connection of the broker's async engine.

``broker.store.migrate`` builds the configuration in code and hands over a synchronous view of an async
connection (``AsyncConnection.run_sync``), so migrations use the same drivers as the broker. When no
connection is handed over (``alembic`` run by hand with ``-x url=...`` for autogenerate), one is opened here.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from broker.store.engine import create_engine
from broker.store.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def main() -> None:
    if context.is_offline_mode():
        raise RuntimeError("offline (SQL script) migrations are not supported; run them against a database")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: pass -x url=<database url>")
    asyncio.run(_run_with_own_engine(url))


main()
