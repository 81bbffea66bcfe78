"""Conversation checks of the official DSVE profile: each message and recipient with its rules' verdicts.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

UTC_TIMESTAMP = sa.DateTime(timezone=True)

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversation_messages",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("file_transfer_id", sa.String(length=36), nullable=False),
        sa.Column("resource_id", sa.String(length=100), nullable=False),
        sa.Column("conversation", sa.String(length=220), nullable=False),
        sa.Column("message_type", sa.String(length=80), nullable=False),
        sa.Column("sender", sa.String(length=9), nullable=False),
        sa.Column("sender_role", sa.String(length=16), nullable=True),
        sa.Column("recipient", sa.String(length=9), nullable=False),
        sa.Column("sender_reference", sa.String(length=200), nullable=True),
        sa.Column("recipient_reference", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=60), nullable=True),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("at", UTC_TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_conversation_messages")),
    )
    op.create_index("ix_conversation_messages_sender_seq", "conversation_messages", ["sender", "seq"])
    op.create_index("ix_conversation_messages_recipient_seq", "conversation_messages", ["recipient", "seq"])
    op.create_index("ix_conversation_messages_conversation_seq", "conversation_messages", ["conversation", "seq"])


def downgrade() -> None:
    op.drop_index("ix_conversation_messages_conversation_seq", table_name="conversation_messages")
    op.drop_index("ix_conversation_messages_recipient_seq", table_name="conversation_messages")
    op.drop_index("ix_conversation_messages_sender_seq", table_name="conversation_messages")
    op.drop_table("conversation_messages")
