"""A migrated store per test, on SQLite and on PostgreSQL, and a factory for stored messages."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.domain.lifecycle import MessageStatus
from broker.domain.messages import StoredMessage
from broker.store import migrate
from broker.store.engine import create_engine

BANK = "910000004"
OTHER_BANK = "920000002"
MEGLER = "930000000"
KARTVERKET = "971040238"
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate.upgrade(database_url)
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


def make_message(
    sender: str = BANK,
    recipient: str = MEGLER,
    *,
    message_type: str = "intensjonFraBank",
    sender_reference: str = "SAK-1",
    recipient_reference: str | None = None,
    accepted_at: datetime = T0,
    ttl: timedelta = timedelta(days=30),
    content: bytes = b"<intensjonFraBank/>",
    message_id: str | None = None,
) -> StoredMessage:
    return StoredMessage(
        id=str(uuid.uuid4()),
        message_type=message_type,
        message_id=message_id or str(uuid.uuid4()),
        sender=sender,
        recipient=recipient,
        sender_reference=sender_reference,
        recipient_reference=recipient_reference,
        document_created=accepted_at - timedelta(minutes=1),
        signer_subject=f"organizationIdentifier=NTRNO-{sender}",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        status=MessageStatus.ACCEPTED,
        accepted_at=accepted_at,
        expires_at=accepted_at + ttl,
        status_changed_at=accepted_at,
    )
