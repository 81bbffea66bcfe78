"""Appending file-transfer events to the store: the event log's rows, their outbox rows and the webhook
deliveries they owe, all in the caller's transaction.

Every lifecycle step of a transfer appends events, so what an append costs is paid several times per
transfer. On PostgreSQL it is one round trip: the two INSERTs ride as data-modifying CTEs on the SELECT of
the subscriptions of the parties concerned, and a delivery INSERT follows only when a subscription wants
one of the events (a broker nobody subscribed to does no further webhook work). SQLite has no
data-modifying CTE and takes a statement for each.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.events.altinn_event import AltinnEvent
from broker.store.outbox_repository import OutboxEntry, outbox_rows
from broker.store.tables import file_transfer_events, outbox
from broker.store.webhook_repository import WebhookRepository, subscription_of, subscriptions_of


async def append_event_rows(
    connection: AsyncConnection, events: Sequence[AltinnEvent], entries: Sequence[OutboxEntry], now: datetime
) -> None:
    """Store ``events`` in the log, queue ``entries`` (their CloudEvents, and any other publish the caller
    commits with them) and owe each event to the webhook subscriptions that want it."""
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
    queued = outbox_rows(entries)
    subscriptions = subscriptions_of(event.party for event in events)
    if connection.dialect.name == "postgresql":
        if rows:
            subscriptions = subscriptions.add_cte(sa.insert(file_transfer_events).values(rows).cte("appended"))
        if queued:
            subscriptions = subscriptions.add_cte(sa.insert(outbox).values(queued).cte("queued"))
        wanted = [subscription_of(row) for row in await connection.execute(subscriptions)]
    else:
        if rows:
            await connection.execute(sa.insert(file_transfer_events), rows)
        if queued:
            await connection.execute(sa.insert(outbox), queued)
        wanted = [subscription_of(row) for row in await connection.execute(subscriptions)] if rows else []
    await WebhookRepository(connection).owe(events, wanted, now)
