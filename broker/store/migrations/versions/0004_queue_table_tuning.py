"""The outbox as a queue table: a partial index on the pending rows; statistics that skip message content.

``ix_outbox_pending`` held every row, published or not, keyed by ``published_at``: each settle put a new
entry in it and the claim walked past the dead ones. As a partial index on ``id`` where ``published_at IS
NULL`` it holds only what is waiting, in the order the claim takes it, and a published row leaves it.
On PostgreSQL the outbox is also given autovacuum thresholds for a queue (vacuum after 1,000 dead rows,
not 20 % of the table), and ``ANALYZE`` no longer samples the signed XML of ``messages.content``, which
no query filters on and which would be read from TOAST and decompressed for nothing.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("published_at IS NULL")


def upgrade() -> None:
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.create_index("ix_outbox_pending", "outbox", ["id"], postgresql_where=PENDING, sqlite_where=PENDING)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 1000,"
            " autovacuum_analyze_scale_factor = 0.02)"
        )
        op.execute("ALTER TABLE messages ALTER COLUMN content SET STATISTICS 0")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE messages ALTER COLUMN content SET STATISTICS -1")
        op.execute(
            "ALTER TABLE outbox RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold,"
            " autovacuum_analyze_scale_factor)"
        )
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.create_index("ix_outbox_pending", "outbox", ["published_at", "id"], unique=False)
