"""Relay heartbeats: each broker process's relay says it is alive, and leases name the process holding them.

A row claimed by a process that then died stayed leased until its lease ran out (30 s). With ``leased_by`` on
each outbox row and one ``relay_heartbeats`` row per running relay, the others see within seconds that the
holder stopped beating and take its rows over.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

UTC_TIMESTAMP = sa.DateTime(timezone=True)

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("leased_by", sa.String(40), nullable=True))
    op.create_table(
        "relay_heartbeats",
        sa.Column("owner", sa.String(40), primary_key=True),
        sa.Column("beat_at", UTC_TIMESTAMP, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("relay_heartbeats")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("leased_by")
