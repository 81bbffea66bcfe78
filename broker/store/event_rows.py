"""Appending file-transfer events to the store: the event log's rows, their outbox rows and the webhook
deliveries they owe, all in the caller's transaction.

Every lifecycle step of a transfer appends events, so what an append costs is paid several times per
transfer. On PostgreSQL it is one round trip: the two INSERTs ride as data-modifying CTEs on the SELECT of
the subscriptions of the parties concerned, and a delivery INSERT follows only when a subscription wants
one of the events (a broker nobody subscribed to does no further webhook work). Its text is fixed, so it is
prepared once per connection and never compiled again. SQLite has no
data-modifying CTE and takes a statement for each.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.events.altinn_event import AltinnEvent
from broker.events.webhooks import WebhookSubscription
from broker.store.outbox_kind import OutboxKind
from broker.store.outbox_repository import OutboxEntry, outbox_rows
from broker.store.tables import file_transfer_events, outbox, webhook_subscriptions
from broker.store.webhook_repository import WebhookRepository, subscription_of, subscriptions_of

_SUBSCRIPTION_COLUMNS = ("id", "party", "resource_id", "event_types", "endpoint", "created_at")

# The PostgreSQL form: each INSERT takes its rows as one array per column (unnest keeps their order), so the
# statement's text is the same for any number of rows and is prepared once, where a multi-row VALUES would
# be compiled again for each call.
_PG_APPEND = sa.text(
    """
    WITH appended AS (
        INSERT INTO file_transfer_events (id, event_type, resource_id, file_transfer_id, party, role, at)
        SELECT e.id, e.event_type, e.resource_id, e.file_transfer_id, e.party, e.role, e.at
        FROM unnest(
            CAST(:ids AS VARCHAR[]), CAST(:types AS VARCHAR[]), CAST(:resources AS VARCHAR[]),
            CAST(:transfers AS VARCHAR[]), CAST(:parties AS VARCHAR[]), CAST(:roles AS VARCHAR[]),
            CAST(:times AS TIMESTAMPTZ[])
        ) WITH ORDINALITY AS e(id, event_type, resource_id, file_transfer_id, party, role, at, n)
        ORDER BY e.n
    ), queued AS (
        INSERT INTO outbox (kind, message_id, routing_key, headers, body, created_at, attempts)
        SELECT q.kind, q.message_id, q.routing_key, CAST(q.headers AS JSON), q.body, CAST(:now AS TIMESTAMPTZ), 0
        FROM unnest(
            CAST(:kinds AS VARCHAR[]), CAST(:message_ids AS VARCHAR[]), CAST(:routing_keys AS VARCHAR[]),
            CAST(:headers AS TEXT[]), CAST(:bodies AS BYTEA[])
        ) WITH ORDINALITY AS q(kind, message_id, routing_key, headers, body, n)
        ORDER BY q.n
    )
    SELECT id, party, resource_id, event_types, endpoint, created_at
    FROM webhook_subscriptions WHERE party = ANY(CAST(:parties AS VARCHAR[]))
    """
).columns(*(webhook_subscriptions.c[name] for name in _SUBSCRIPTION_COLUMNS))


async def append_event_rows(
    connection: AsyncConnection, events: Sequence[AltinnEvent], entries: Sequence[OutboxEntry], now: datetime
) -> None:
    """Store ``events`` in the log, queue ``entries`` (their CloudEvents, and any other publish the caller
    commits with them) and owe each event to the webhook subscriptions that want it."""
    if connection.dialect.name == "postgresql":
        result = await connection.execute(
            _PG_APPEND,
            {
                "ids": [event.id for event in events],
                "types": [event.type.value for event in events],
                "resources": [event.resource_id for event in events],
                "transfers": [event.file_transfer_id for event in events],
                "parties": [event.party for event in events],
                "roles": [event.role.value if event.role is not None else None for event in events],
                "times": [event.time for event in events],
                "now": now,
                "kinds": [OutboxKind(entry.kind).value for entry in entries],
                "message_ids": [entry.message_id for entry in entries],
                "routing_keys": [entry.routing_key for entry in entries],
                "headers": [json.dumps(dict(entry.headers)) for entry in entries],
                "bodies": [entry.body for entry in entries],
            },
        )
        wanted = [subscription_of(row) for row in result]
    else:
        wanted = await _append_each(connection, events, entries)
    await WebhookRepository(connection).owe(events, wanted, now)


async def _append_each(
    connection: AsyncConnection, events: Sequence[AltinnEvent], entries: Sequence[OutboxEntry]
) -> list[WebhookSubscription]:
    rows = [
        {
            "id": event.id,
            "event_type": event.type.value,
            "resource_id": event.resource_id,
            "file_transfer_id": event.file_transfer_id,
            "party": event.party,
            "role": event.role.value if event.role is not None else None,
            "at": event.time,
        }
        for event in events
    ]
    if not rows:
        if entries:
            await connection.execute(sa.insert(outbox), outbox_rows(entries))
        return []
    await connection.execute(sa.insert(file_transfer_events), rows)
    if entries:
        await connection.execute(sa.insert(outbox), outbox_rows(entries))
    subscriptions = await connection.execute(subscriptions_of(event.party for event in events))
    return [subscription_of(row) for row in subscriptions]
