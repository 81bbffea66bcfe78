"""File transfers, their recipients and histories, and the resources they are sent on.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIMESTAMP = sa.DateTime(timezone=True)
_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("resource_id", sa.String(255), primary_key=True),
        sa.Column("max_file_transfer_size", sa.BigInteger, nullable=True),
        sa.Column("time_to_live_s", sa.Integer, nullable=False),
        sa.Column("purge_after_all_confirmed", sa.Boolean, nullable=False),
        sa.Column("purge_grace_period_s", sa.Integer, nullable=False),
        sa.Column("use_manifest_file_shim", sa.Boolean, nullable=False),
        sa.Column("schema_set", sa.String(64), nullable=True),
        sa.Column("updated_at", UTC_TIMESTAMP, nullable=False),
    )
    op.create_table(
        "resource_access",
        sa.Column(
            "resource_id", sa.String(255), sa.ForeignKey("resources.resource_id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("orgnr", sa.String(9), sa.ForeignKey("participants.orgnr"), primary_key=True),
        sa.Column("can_send", sa.Boolean, nullable=False),
        sa.Column("can_receive", sa.Boolean, nullable=False),
    )
    op.create_table(
        "file_transfers",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("resource_id", sa.String(255), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("senders_reference", sa.String(4096), nullable=False),
        sa.Column("sender", sa.String(9), nullable=False),
        sa.Column("properties", sa.JSON, nullable=False),
        sa.Column("checksum", sa.String(32), nullable=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("upload_length", sa.BigInteger, nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_text", sa.Text, nullable=False),
        sa.Column("status_changed_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("expires_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("purge_at", UTC_TIMESTAMP, nullable=True),
        sa.Column("upload_activity_at", UTC_TIMESTAMP, nullable=True),
    )
    op.create_index("ix_file_transfers_sender_created", "file_transfers", ["sender", "created_at"])
    op.create_index("ix_file_transfers_status_expires", "file_transfers", ["status", "expires_at"])
    op.create_table(
        "file_transfer_recipients",
        sa.Column(
            "file_transfer_id",
            sa.String(36),
            sa.ForeignKey("file_transfers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("recipient", sa.String(9), primary_key=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_text", sa.Text, nullable=False),
        sa.Column("status_changed_at", UTC_TIMESTAMP, nullable=False),
    )
    op.create_index(
        "ix_file_transfer_recipients_recipient", "file_transfer_recipients", ["recipient", "file_transfer_id"]
    )
    op.create_table(
        "file_transfer_history",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column(
            "file_transfer_id", sa.String(36), sa.ForeignKey("file_transfers.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("recipient", sa.String(9), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_text", sa.Text, nullable=False),
        sa.Column("at", UTC_TIMESTAMP, nullable=False),
    )
    op.create_index("ix_file_transfer_history_transfer", "file_transfer_history", ["file_transfer_id", "id"])


def downgrade() -> None:
    op.drop_table("file_transfer_history")
    op.drop_table("file_transfer_recipients")
    op.drop_table("file_transfers")
    op.drop_table("resource_access")
    op.drop_table("resources")
