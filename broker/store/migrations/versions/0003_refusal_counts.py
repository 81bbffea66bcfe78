"""Refusals by reason per UTC minute, added up by every broker process (the console's overview reads them).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

UTC_TIMESTAMP = sa.DateTime(timezone=True)

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "refusal_counts",
        sa.Column("bucket", UTC_TIMESTAMP, nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "code", name=op.f("pk_refusal_counts")),
    )


def downgrade() -> None:
    op.drop_table("refusal_counts")
