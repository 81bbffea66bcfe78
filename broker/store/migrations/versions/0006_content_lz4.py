"""Message content compressed with LZ4 instead of pglz (PostgreSQL built with LZ4, as Debian's is).

A signed message of 3.5–5 KB passes PostgreSQL's TOAST threshold, so every insert compresses it. Measured
on the benchmark machine (50-row inserts of a 4.3 KB signed message): pglz 29–31 µs of PostgreSQL CPU per
row, LZ4 13 µs, with the same stored size (4.26 KB per row); uncompressed storage was 12.7 µs at 5.65 KB.
Rows written before keep their pglz content; PostgreSQL reads both.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LZ4_AVAILABLE = "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not bind.exec_driver_sql(_LZ4_AVAILABLE).scalar():
        return
    op.execute("ALTER TABLE messages ALTER COLUMN content SET COMPRESSION lz4")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE messages ALTER COLUMN content SET COMPRESSION default")
