"""The event log of file transfers: one row per event and party, appended in the changing transaction.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

UTC_TIMESTAMP = sa.DateTime(timezone=True)

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "file_transfer_events",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=80), nullable=False),
        sa.Column("resource_id", sa.String(length=100), nullable=False),
        sa.Column("file_transfer_id", sa.String(length=36), nullable=False),
        sa.Column("party", sa.String(length=9), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("at", UTC_TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_file_transfer_events")),
        sa.UniqueConstraint("id", name=op.f("uq_file_transfer_events_id")),
    )
    op.create_index("ix_file_transfer_events_party_seq", "file_transfer_events", ["party", "seq"])
    op.create_index("ix_file_transfer_events_transfer_seq", "file_transfer_events", ["file_transfer_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_file_transfer_events_transfer_seq", table_name="file_transfer_events")
    op.drop_index("ix_file_transfer_events_party_seq", table_name="file_transfer_events")
    op.drop_table("file_transfer_events")
