"""``INSERT ... ON CONFLICT`` for the two databases the store runs on.

Both SQLite and PostgreSQL speak the same ``ON CONFLICT`` clause, but SQLAlchemy builds it from each dialect's
own ``insert``; this picks the right one for a connection, so repositories stay free of dialect branches.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def conflict_insert(connection: AsyncConnection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """An insert into ``table`` that can take ``on_conflict_do_nothing`` / ``on_conflict_do_update``."""
    name = connection.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"the store supports SQLite and PostgreSQL, not {name}")
