"""Outbox rows leave the table once published, instead of being marked.

A published row was never read again, yet it stayed: the outbox grew by two rows per message (the message
and its receipt) for as long as the broker ran, and each publish wrote a new row version and an entry in the
table's key. Deleting the row is the cheaper write, and the table is as small as the backlog. What happened
to a message stays in ``status_history``; the file-transfer events have their own log.

Rows already published are deleted here; a downgrade cannot bring them back, and needs not: nothing read them.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM outbox WHERE published_at IS NOT NULL")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("published_at")


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
    where = sa.text("published_at IS NULL")
    op.create_index("ix_outbox_pending", "outbox", ["id"], postgresql_where=where, sqlite_where=where)
