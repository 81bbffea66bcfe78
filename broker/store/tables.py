"""The broker's tables (SQLAlchemy Core). Alembic migrations in ``broker/store/migrations`` build them.

Message content is kept byte-exact (``LargeBinary``) with its sha256, so what a recipient downloads is
exactly what the sender signed. The outbox row commits in the same transaction as the message row:
that is what makes "nothing accepted is ever lost" true across crashes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp that is timezone-aware UTC on the way out on every database.

    SQLite stores no offset and hands back naive values; storing every value converted to UTC keeps its text
    comparisons correct, and marking results as UTC makes both databases return the same thing. A naive value
    on the way in is taken to be UTC already.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


UTC_TIMESTAMP = UtcDateTime()

participants = sa.Table(
    "participants",
    metadata,
    sa.Column("orgnr", sa.String(9), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("certificate_pem", sa.Text, nullable=False),
    sa.Column("sends", sa.JSON, nullable=False),
    sa.Column("receives", sa.JSON, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
    sa.Column("updated_at", UTC_TIMESTAMP, nullable=False),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),  # the broker's id (UUID)
    # Assigned by the database: an identity column on PostgreSQL (safe with several broker processes); on SQLite,
    # which has no sequences, the insert computes max(seq) + 1 under SQLite's single-writer lock.
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), sa.Identity(), nullable=False, unique=True),
    sa.Column("message_type", sa.String(64), nullable=False),
    sa.Column("message_id", sa.String(64), nullable=False),  # the sender's id from the document
    sa.Column("sender", sa.String(9), nullable=False),
    sa.Column("recipient", sa.String(9), nullable=False),
    sa.Column("sender_reference", sa.String(128), nullable=False),
    sa.Column("recipient_reference", sa.String(128), nullable=True),
    sa.Column("document_created", UTC_TIMESTAMP, nullable=True),
    sa.Column("signer_subject", sa.String(400), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=True),  # NULL once purged
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("accepted_at", UTC_TIMESTAMP, nullable=False),
    sa.Column("expires_at", UTC_TIMESTAMP, nullable=False),
    sa.Column("status_changed_at", UTC_TIMESTAMP, nullable=False),
    sa.UniqueConstraint("sender", "message_id", name="uq_messages_sender_message_id"),
    sa.Index("ix_messages_recipient_seq", "recipient", "seq"),
    sa.Index("ix_messages_sender_seq", "sender", "seq"),
    sa.Index("ix_messages_sender_reference", "sender_reference"),
    sa.Index("ix_messages_recipient_reference", "recipient_reference"),
    sa.Index("ix_messages_status_expires", "status", "expires_at"),
)

status_history = sa.Table(
    "status_history",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.String(36), sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("at", UTC_TIMESTAMP, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),  # an orgnr, "broker", or "relay"
    sa.Column("detail", sa.String(400), nullable=True),
    sa.Index("ix_status_history_message", "message_id", "id"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),  # "message" (to dsve.messages) or "event" (dsve.events)
    sa.Column("message_id", sa.String(36), nullable=False),  # broker id of the message concerned
    sa.Column("routing_key", sa.String(200), nullable=False),
    sa.Column("headers", sa.JSON, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=True),  # events carry JSON; messages are read from `messages`
    sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("lease_until", UTC_TIMESTAMP, nullable=True),  # SQLite's stand-in for SKIP LOCKED
    sa.Column("published_at", UTC_TIMESTAMP, nullable=True),
    sa.Index("ix_outbox_pending", "published_at", "id"),
)

used_token_ids = sa.Table(
    "used_token_ids",
    metadata,
    sa.Column("jti", sa.String(200), primary_key=True),
    sa.Column("issuer", sa.String(9), nullable=False),
    sa.Column("expires_at", UTC_TIMESTAMP, nullable=False),
)
