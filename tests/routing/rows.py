"""Test data for routing: stored messages with their outbox rows, as the intake commits them."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from broker.domain.clock import utc_now
from broker.routing.transport import routing_headers
from broker.store import tables
from broker.store.history_repository import HISTORY_ORDER
from broker.store.kept_connections import KeptConnections
from broker.store.outbox_kind import OutboxKind
from broker.store.outbox_queue import OutboxQueue

_seq = itertools.count(1)

BANK = "910000001"
MEGLER = "910000002"
KARTVERKET = "910000003"


def xml_body(message_id: str) -> bytes:
    return f'<?xml version="1.0"?><intensjonFraBank><id>{message_id}</id></intensjonFraBank>'.encode()


@asynccontextmanager
async def broker_engine(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(url, pool_size=10) if url.startswith("postgresql") else create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(tables.metadata.create_all)
    try:
        yield engine
    finally:
        await engine.dispose()


def outbox_queue(engine: AsyncEngine) -> OutboxQueue:
    """The relay's view of the outbox, as the app factory builds it."""
    return OutboxQueue(KeptConnections(engine))


async def store_messages(
    engine: AsyncEngine, sender: str, recipient: str, count: int = 1, message_type: str = "intensjonFraBank"
) -> list[str]:
    """Commit ``count`` accepted messages and their outbox rows in one transaction; return their broker ids."""
    now = utc_now()
    ids = [str(uuid.uuid4()) for _ in range(count)]
    messages, outbox = [], []
    for broker_id in ids:
        body = xml_body(broker_id)
        messages.append(
            {
                "id": broker_id,
                "seq": next(_seq),
                "message_type": message_type,
                "message_id": str(uuid.uuid4()),
                "sender": sender,
                "recipient": recipient,
                "sender_reference": f"case-{broker_id[:8]}",
                "recipient_reference": None,
                "document_created": now,
                "signer_subject": f"organizationIdentifier=NTRNO-{sender}",
                "size": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
                "content": body,
                "status": "accepted",
                "accepted_at": now,
                "expires_at": now + timedelta(days=30),
                "status_changed_at": now,
            }
        )
        outbox.append(
            {
                "kind": OutboxKind.MESSAGE.value,
                "message_id": broker_id,
                "routing_key": f"{recipient}.{message_type}",
                "headers": routing_headers(message_type, sender, recipient, f"case-{broker_id[:8]}", None),
                "body": None,
                "created_at": now,
                "attempts": 0,
            }
        )
    async with engine.begin() as conn:
        await conn.execute(sa.insert(tables.messages), messages)
        await conn.execute(sa.insert(tables.outbox), outbox)
    return ids


async def statuses(engine: AsyncEngine) -> dict[str, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(tables.messages.c.id, tables.messages.c.status))
    return {row.id: row.status for row in rows}


async def history(engine: AsyncEngine, message_id: str) -> list[tuple[str, str]]:
    """The message's history as every reader shows it (in the order the steps happened)."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(tables.status_history.c.status, tables.status_history.c.actor)
            .where(tables.status_history.c.message_id == message_id)
            .order_by(*HISTORY_ORDER)
        )
    return [(row.status, row.actor) for row in rows]


async def eventually(condition: Callable[[], Awaitable[bool]], within: float = 10.0, every: float = 0.05) -> None:
    """Wait until ``condition`` holds, failing the test after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not reached within {within} s")
        await asyncio.sleep(every)
