"""Initial schema: participants, messages with their status history, the outbox and used token ids.

The tables as ``broker.store.tables`` first defined them; timestamps are ``timestamptz`` on PostgreSQL.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

UTC_TIMESTAMP = sa.DateTime(timezone=True)

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(always=False), nullable=False
        ),
        sa.Column("message_type", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("sender", sa.String(length=9), nullable=False),
        sa.Column("recipient", sa.String(length=9), nullable=False),
        sa.Column("sender_reference", sa.String(length=128), nullable=False),
        sa.Column("recipient_reference", sa.String(length=128), nullable=True),
        sa.Column("document_created", UTC_TIMESTAMP, nullable=True),
        sa.Column("signer_subject", sa.String(length=400), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("accepted_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("expires_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("status_changed_at", UTC_TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("sender", "message_id", name="uq_messages_sender_message_id"),
        sa.UniqueConstraint("seq", name=op.f("uq_messages_seq")),
    )
    op.create_index("ix_messages_recipient_reference", "messages", ["recipient_reference"], unique=False)
    op.create_index("ix_messages_recipient_seq", "messages", ["recipient", "seq"], unique=False)
    op.create_index("ix_messages_sender_reference", "messages", ["sender_reference"], unique=False)
    op.create_index("ix_messages_sender_seq", "messages", ["sender", "seq"], unique=False)
    op.create_index("ix_messages_status_expires", "messages", ["status", "expires_at"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("routing_key", sa.String(length=200), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", UTC_TIMESTAMP, nullable=True),
        sa.Column("published_at", UTC_TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index("ix_outbox_pending", "outbox", ["published_at", "id"], unique=False)

    op.create_table(
        "participants",
        sa.Column("orgnr", sa.String(length=9), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("sends", sa.JSON(), nullable=False),
        sa.Column("receives", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
        sa.Column("updated_at", UTC_TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("orgnr", name=op.f("pk_participants")),
    )
    op.create_table(
        "used_token_ids",
        sa.Column("jti", sa.String(length=200), nullable=False),
        sa.Column("issuer", sa.String(length=9), nullable=False),
        sa.Column("expires_at", UTC_TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_used_token_ids")),
    )
    op.create_table(
        "status_history",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at", UTC_TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=400), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_status_history_message_id_messages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_history")),
    )
    op.create_index("ix_status_history_message", "status_history", ["message_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("status_history")
    op.drop_table("used_token_ids")
    op.drop_table("participants")
    op.drop_table("outbox")
    op.drop_table("messages")
