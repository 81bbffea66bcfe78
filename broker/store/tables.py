"""The broker's tables (SQLAlchemy Core). Alembic migrations in ``broker/store/migrations`` build them.

Message content is kept byte-exact (``LargeBinary``) with its sha256, so what a recipient downloads is
exactly what the sender signed. The outbox row commits in the same transaction as the message row:
that is what makes "nothing accepted is ever lost" true across crashes.
"""

from __future__ import annotations

from datetime import UTC, datetime

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

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
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

# One row, bumped by a trigger on every change to participants (SQLite; PostgreSQL notifies instead):
# the embedded broker's registry cache reads it to know whether what it holds is still true.
registry_version = sa.Table(
    "registry_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("n", sa.BigInteger, nullable=False),
)


def _partial_index(name: str, column: str | sa.Column[datetime], where: str | sa.ColumnElement[bool]) -> sa.Index:
    """An index of the rows ``where`` holds for, on either database."""
    condition = sa.text(where) if isinstance(where, str) else where
    return sa.Index(name, column, postgresql_where=condition, sqlite_where=condition)


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
    # No index names `status` or `status_changed_at`, even in a predicate, so a move along the main line is a
    # HOT update on PostgreSQL (migration 0015). The passes use these instead: when the message was confirmed
    # or expired (its retention starts; NULL while open), and when it was dead-lettered, while it is.
    sa.Column("closed_at", UTC_TIMESTAMP, nullable=True),
    sa.Column("dead_lettered_at", UTC_TIMESTAMP, nullable=True),
    sa.UniqueConstraint("sender", "message_id", name="uq_messages_sender_message_id"),
    sa.Index("ix_messages_recipient_seq", "recipient", "seq"),
    sa.Index("ix_messages_sender_seq", "sender", "seq"),
    sa.Index("ix_messages_sender_reference", "sender_reference"),
    sa.Index("ix_messages_recipient_reference", "recipient_reference"),
    _partial_index("ix_messages_open_expires", "expires_at", "closed_at IS NULL"),  # the expiry pass
    _partial_index("ix_messages_dead_lettered", "seq", "dead_lettered_at IS NOT NULL"),  # the console's list
)
# The purge pass's rows (closed, content kept): its index holds only these, and ``purge_due`` names them.
MESSAGES_CLOSED_KEPT = sa.and_(messages.c.closed_at.is_not(None), messages.c.content.is_not(None))
_partial_index("ix_messages_closed_kept", messages.c.closed_at, MESSAGES_CLOSED_KEPT)
# A stored message as the broker reads it (``StoredMessage``'s fields), without the two the passes use.
MESSAGE_COLUMNS = tuple(c for c in messages.c if c.name not in ("closed_at", "dead_lettered_at"))
MESSAGE_COLUMNS_WITHOUT_CONTENT = tuple(c for c in MESSAGE_COLUMNS if c.name != "content")

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

# One row per running relay (broker process), beaten every second; a relay that stops beating has died, and
# the rows it leased are taken over by the others.
relay_heartbeats = sa.Table(
    "relay_heartbeats",
    metadata,
    sa.Column("owner", sa.String(40), primary_key=True),
    sa.Column("beat_at", UTC_TIMESTAMP, nullable=False),
)

# A queue: each row waits to be published and is deleted once RabbitMQ confirmed it (the trail is in
# ``status_history`` and the event log), so the table stays the size of the backlog.
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
    sa.Column("leased_by", sa.String(40), nullable=True),  # the relay holding the lease (its heartbeat's owner)
)

used_token_ids = sa.Table(
    "used_token_ids",
    metadata,
    sa.Column("jti", sa.String(200), primary_key=True),
    sa.Column("issuer", sa.String(9), nullable=False),
    sa.Column("expires_at", UTC_TIMESTAMP, nullable=False),
)

# Refusals by reason, per UTC minute: each broker process counts in memory and adds its counts every few seconds,
# so a flood of bad requests costs one upsert per (minute, code) per flush, and several processes add up.
refusal_counts = sa.Table(
    "refusal_counts",
    metadata,
    sa.Column("bucket", UTC_TIMESTAMP, primary_key=True),  # the start of the UTC minute
    sa.Column("code", sa.String(16), primary_key=True),  # DSVE-nnnn
    sa.Column("slug", sa.String(64), nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
)

# The web console's tables (``broker.console``): its users, their sessions, sign-in failures for the backoff,
# and the property units each message names, indexed from the stored content for the case search.

console_users = sa.Table(
    "console_users",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.String(200), nullable=False),  # argon2id, with its own salt and parameters
    sa.Column("role", sa.String(16), nullable=False),  # "operator" or "participant"
    sa.Column("orgnr", sa.String(9), nullable=True),  # a participant's staff: the only organisation they see
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
    sa.Column("updated_at", UTC_TIMESTAMP, nullable=False),
)

console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),  # sha256 of the cookie's id: a leaked row opens nothing
    sa.Column("username", sa.String(64), sa.ForeignKey("console_users.username", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
    sa.Column("expires_at", UTC_TIMESTAMP, nullable=False),
    sa.Index("ix_console_sessions_expires_at", "expires_at"),
)

console_sign_in_failures = sa.Table(
    "console_sign_in_failures",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("client", sa.String(64), primary_key=True),  # the remote address the attempts came from
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_failure_at", UTC_TIMESTAMP, nullable=False),
)

console_indexed_messages = sa.Table(
    "console_indexed_messages",
    metadata,
    sa.Column("message_id", sa.String(36), sa.ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
    sa.Index("ix_console_indexed_messages_seq", "seq"),
)

console_property_units = sa.Table(
    "console_property_units",
    metadata,
    sa.Column("message_id", sa.String(36), sa.ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("unit", sa.String(40), primary_key=True),  # kommunenummer-gårdsnummer-bruksnummer
    sa.Column("festenummer", sa.Integer, primary_key=True),
    sa.Column("seksjonsnummer", sa.Integer, primary_key=True),
    sa.Index("ix_console_property_units_unit", "unit"),
)

# File-transfer events (``broker.events``): an append-only log, one row per event and party, in commit order.
file_transfer_events = sa.Table(
    "file_transfer_events",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(36), nullable=False, unique=True),  # the CloudEvent id
    sa.Column("event_type", sa.String(80), nullable=False),
    sa.Column("resource_id", sa.String(100), nullable=False),
    sa.Column("file_transfer_id", sa.String(36), nullable=False),
    sa.Column("party", sa.String(9), nullable=False),  # the orgnr the event is for
    sa.Column("role", sa.String(16), nullable=True),  # "Sender" or "Recipient"
    sa.Column("at", UTC_TIMESTAMP, nullable=False),
    sa.Index("ix_file_transfer_events_party_seq", "party", "seq"),
    sa.Index("ix_file_transfer_events_transfer_seq", "file_transfer_id", "seq"),
)

# Conversation checks of the official DSVE profile: one row per message and recipient, with the verdict of
# every conversation rule on it (JSON), so that the console can show each conversation and its rules.
conversation_messages = sa.Table(
    "conversation_messages",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("file_transfer_id", sa.String(36), nullable=False),
    sa.Column("resource_id", sa.String(100), nullable=False),
    sa.Column("conversation", sa.String(220), nullable=False),  # "<bank orgnr>/<the bank's reference>"
    sa.Column("message_type", sa.String(80), nullable=False),
    sa.Column("sender", sa.String(9), nullable=False),
    sa.Column("sender_role", sa.String(16), nullable=True),
    sa.Column("recipient", sa.String(9), nullable=False),
    sa.Column("sender_reference", sa.String(200), nullable=True),
    sa.Column("recipient_reference", sa.String(200), nullable=True),
    sa.Column("status", sa.String(60), nullable=True),
    sa.Column("accepted", sa.Boolean, nullable=False),
    sa.Column("results", sa.Text, nullable=False),  # [{"rule", "holds", "detail"}, ...]
    sa.Column("at", UTC_TIMESTAMP, nullable=False),
    sa.Index("ix_conversation_messages_sender_seq", "sender", "seq"),
    sa.Index("ix_conversation_messages_recipient_seq", "recipient", "seq"),
    sa.Index("ix_conversation_messages_conversation_seq", "conversation", "seq"),
)

# Webhook subscriptions of participants and the deliveries owed to them, made when an event is appended.
# Deliveries of one subscription go out in order: the lease and the retry time are the subscription's.
webhook_subscriptions = sa.Table(
    "webhook_subscriptions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("party", sa.String(9), nullable=False),  # the subscriber's orgnr: it gets only its own events
    sa.Column("resource_id", sa.String(100), nullable=False),
    sa.Column("event_types", sa.JSON, nullable=False),  # the full type names; empty: every type
    sa.Column("endpoint", sa.String(2000), nullable=False),
    sa.Column("secret", sa.String(100), nullable=False),  # the signing key ("whsec_" + base64), shown once
    sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
    sa.Column("lease_owner", sa.String(36), nullable=True),  # the delivering process, while its lease holds
    sa.Column("lease_until", UTC_TIMESTAMP, nullable=True),
    sa.Column("retry_at", UTC_TIMESTAMP, nullable=True),  # back-off after a failed attempt: nothing before it
    sa.Index("ix_webhook_subscriptions_party", "party"),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column(
        "subscription_id",
        sa.String(36),
        sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("event_id", sa.String(36), nullable=False),  # file_transfer_events.id
    sa.Column("status", sa.String(16), nullable=False),  # "pending", "delivered" or "dead"
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.String(400), nullable=True),
    sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
    sa.Column("finished_at", UTC_TIMESTAMP, nullable=True),  # delivered, or given up (dead)
    sa.Index("ix_webhook_deliveries_subscription_status", "subscription_id", "status", "id"),
    sa.Index("ix_webhook_deliveries_status", "status", "id"),
)

# File transfers (the Altinn 3 Broker-compatible API). The file's bytes live in the file store
# (``broker.files``), never in these tables; a transfer's and each recipient's history is append-only.

resources = sa.Table(
    "resources",
    metadata,
    sa.Column("resource_id", sa.String(255), primary_key=True),
    sa.Column("max_file_transfer_size", sa.BigInteger, nullable=True),  # NULL: the broker-wide limit
    sa.Column("time_to_live_s", sa.Integer, nullable=False),
    sa.Column("purge_after_all_confirmed", sa.Boolean, nullable=False),
    sa.Column("purge_grace_period_s", sa.Integer, nullable=False),
    sa.Column("use_manifest_file_shim", sa.Boolean, nullable=False),
    sa.Column("schema_set", sa.String(64), nullable=True),  # NULL: published without payload checks
    sa.Column("updated_at", UTC_TIMESTAMP, nullable=False),
)

resource_access = sa.Table(
    "resource_access",
    metadata,
    sa.Column(
        "resource_id", sa.String(255), sa.ForeignKey("resources.resource_id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("orgnr", sa.String(9), sa.ForeignKey("participants.orgnr"), primary_key=True),
    sa.Column("can_send", sa.Boolean, nullable=False),
    sa.Column("can_receive", sa.Boolean, nullable=False),
)

file_transfers = sa.Table(
    "file_transfers",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("resource_id", sa.String(255), nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("senders_reference", sa.String(4096), nullable=False),
    sa.Column("sender", sa.String(9), nullable=False),
    sa.Column("properties", sa.JSON, nullable=False),
    sa.Column("checksum", sa.String(32), nullable=True),  # the MD5 the sender named, or the one computed
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("upload_length", sa.BigInteger, nullable=True),  # a TUS upload's announced length
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("status_text", sa.Text, nullable=False),
    sa.Column("status_changed_at", UTC_TIMESTAMP, nullable=False),
    sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
    sa.Column("expires_at", UTC_TIMESTAMP, nullable=False),
    sa.Column("purge_at", UTC_TIMESTAMP, nullable=True),  # set once all recipients confirmed
    sa.Column("upload_activity_at", UTC_TIMESTAMP, nullable=True),  # the last bytes received (stalled uploads)
    sa.Index("ix_file_transfers_sender_created", "sender", "created_at"),
    sa.Index("ix_file_transfers_status_expires", "status", "expires_at"),
)

file_transfer_recipients = sa.Table(
    "file_transfer_recipients",
    metadata,
    sa.Column(
        "file_transfer_id", sa.String(36), sa.ForeignKey("file_transfers.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("recipient", sa.String(9), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("status_text", sa.Text, nullable=False),
    sa.Column("status_changed_at", UTC_TIMESTAMP, nullable=False),
    sa.Index("ix_file_transfer_recipients_recipient", "recipient", "file_transfer_id"),
)

file_transfer_history = sa.Table(
    "file_transfer_history",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column(
        "file_transfer_id", sa.String(36), sa.ForeignKey("file_transfers.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("recipient", sa.String(9), nullable=True),  # NULL: the transfer's own status
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("status_text", sa.Text, nullable=False),
    sa.Column("at", UTC_TIMESTAMP, nullable=False),
    sa.Index("ix_file_transfer_history_transfer", "file_transfer_id", "id"),
)

# Maskinporten-style clients: a participant system registered with a client id and the public key it signs its
# grants with (JWT header ``kid``), as Altinn's clients are registered in Maskinporten.
maskinporten_clients = sa.Table(
    "maskinporten_clients",
    metadata,
    sa.Column("client_id", sa.String(200), primary_key=True),
    sa.Column("orgnr", sa.String(9), sa.ForeignKey("participants.orgnr"), nullable=False),
    sa.Column("kid", sa.String(200), nullable=False, unique=True),
    sa.Column("public_key_pem", sa.Text, nullable=False),
    sa.Column("created_at", UTC_TIMESTAMP, nullable=False),
)
