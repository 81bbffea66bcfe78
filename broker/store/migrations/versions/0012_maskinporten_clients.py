"""Maskinporten-style clients: client id, organisation and the public key of each registered key id.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "maskinporten_clients",
        sa.Column("client_id", sa.String(200), primary_key=True),
        sa.Column("orgnr", sa.String(9), sa.ForeignKey("participants.orgnr"), nullable=False),
        sa.Column("kid", sa.String(200), nullable=False, unique=True),
        sa.Column("public_key_pem", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("maskinporten_clients")
