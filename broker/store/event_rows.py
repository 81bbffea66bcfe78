"""Appending file-transfer events to the store: the event log's rows, their outbox rows and the webhook
deliveries they owe, all in the caller's transaction.

Every lifecycle step of a transfer appends events, so what an append costs is paid several times per
transfer. On PostgreSQL it is one statement, or part of the statement that makes the step itself
(``transfer_steps.py``): the three INSERTs (events, outbox rows, webhook deliveries) are data-modifying
CTEs. SQLite has no data-modifying CTE and takes a statement for each.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.events.altinn_event import AltinnEvent
from broker.events.webhooks import DeliveryStatus, WebhookSubscription
from broker.json_text import json_bytes, json_str
from broker.store.outbox_kind import OutboxKind
from broker.store.outbox_repository import OutboxEntry, outbox_rows
from broker.store.tables import file_transfer_events, outbox
from broker.store.webhook_repository import WebhookRepository, subscription_of, subscriptions_of


def guarded(column: str, guards: Sequence[str]) -> str:
    """The SQL condition that keeps a row of step ``column`` (an index into ``guards``): each guard says
    whether its step happened (a statement's earlier UPDATE moved its row), so a step that did not move
    announces nothing."""
    if len(guards) == 1:
        return guards[0]
    return "CASE " + column + " " + " ".join(f"WHEN {i} THEN {g}" for i, g in enumerate(guards)) + " END"


def pg_append_ctes(guards: Sequence[str] = ("TRUE",)) -> str:
    """The event log's rows, their outbox rows and the webhook deliveries they owe, as data-modifying CTEs
    (``appended``, ``queued``, ``owed``) for a statement that makes the step they announce too: the step and
    its announcement are one round trip, and one transaction even in autocommit.

    Each INSERT takes its rows as one array per column (unnest keeps their order), so the text is the same
    for any number of rows and is prepared once, where a multi-row VALUES would be compiled again for each
    call. The deliveries are matched in SQL (the subscription's party and resource, and its event types, all
    when it names none) against the events as appended."""
    # The guards are SQL written in this package, never input.
    return f"""
    appended AS (
        INSERT INTO file_transfer_events (id, event_type, resource_id, file_transfer_id, party, role, at)
        SELECT e.id, e.event_type, e.resource_id, e.file_transfer_id, e.party, e.role, e.at
        FROM unnest(
            CAST(:ids AS VARCHAR[]), CAST(:types AS VARCHAR[]), CAST(:resources AS VARCHAR[]),
            CAST(:transfers AS VARCHAR[]), CAST(:parties AS VARCHAR[]), CAST(:roles AS VARCHAR[]),
            CAST(:times AS TIMESTAMPTZ[]), CAST(:event_steps AS INTEGER[])
        ) WITH ORDINALITY AS e(id, event_type, resource_id, file_transfer_id, party, role, at, step, n)
        WHERE {guarded("e.step", guards)}
        ORDER BY e.n
        RETURNING seq, id, event_type, resource_id, party
    ), queued AS (
        INSERT INTO outbox (kind, message_id, routing_key, headers, body, created_at, attempts)
        SELECT q.kind, q.message_id, q.routing_key, CAST(q.headers AS JSON), q.body, CAST(:now AS TIMESTAMPTZ), 0
        FROM unnest(
            CAST(:kinds AS VARCHAR[]), CAST(:message_ids AS VARCHAR[]), CAST(:routing_keys AS VARCHAR[]),
            CAST(:headers AS TEXT[]), CAST(:bodies AS BYTEA[]), CAST(:entry_steps AS INTEGER[])
        ) WITH ORDINALITY AS q(kind, message_id, routing_key, headers, body, step, n)
        WHERE {guarded("q.step", guards)}
        ORDER BY q.n
    ), owed AS (
        INSERT INTO webhook_deliveries (subscription_id, event_id, status, attempts, created_at)
        SELECT s.id, a.id, '{DeliveryStatus.PENDING.value}', 0, CAST(:now AS TIMESTAMPTZ)
        FROM appended AS a JOIN webhook_subscriptions AS s ON s.party = a.party AND s.resource_id = a.resource_id
        WHERE json_array_length(s.event_types) = 0
           OR a.event_type IN (SELECT json_array_elements_text(s.event_types))
        ORDER BY a.seq, s.id
    )"""  # noqa: S608


_PG_APPEND = sa.text("WITH " + pg_append_ctes() + " SELECT 1")


def cloud_event_entries(events: Sequence[AltinnEvent]) -> list[OutboxEntry]:
    """Each event's outbox row: the relay publishes it to the party's events queue as a CloudEvent."""
    return [
        OutboxEntry(
            OutboxKind.CLOUDEVENT,
            event.id,
            event.routing_key,
            body=json_bytes(event.cloud_event()),
        )
        for event in events
    ]


def pg_announce_params(
    events: Sequence[AltinnEvent],
    also: Sequence[OutboxEntry],
    now: datetime,
    *,
    event_steps: Sequence[int] | None = None,
    also_steps: Sequence[int] | None = None,
) -> dict[str, object]:
    """The parameters of ``pg_append_ctes`` for ``events``, their CloudEvents and ``also`` (further publishes);
    ``*_steps`` give each row's guard (all the first by default), a CloudEvent its event's."""
    steps = list(event_steps) if event_steps is not None else [0] * len(events)
    entries = [*cloud_event_entries(events), *also]
    entry_steps = steps + (list(also_steps) if also_steps is not None else [0] * len(also))
    return pg_append_params(events, entries, now, event_steps=steps, entry_steps=entry_steps)


def pg_append_params(
    events: Sequence[AltinnEvent],
    entries: Sequence[OutboxEntry],
    now: datetime,
    *,
    event_steps: Sequence[int] | None = None,
    entry_steps: Sequence[int] | None = None,
) -> dict[str, object]:
    """The parameters of ``pg_append_ctes``; ``*_steps`` give each row's guard (all the first by default)."""
    return {
        "ids": [event.id for event in events],
        "types": [event.type.value for event in events],
        "resources": [event.resource_id for event in events],
        "transfers": [event.file_transfer_id for event in events],
        "parties": [event.party for event in events],
        "roles": [event.role.value if event.role is not None else None for event in events],
        "times": [event.time for event in events],
        "event_steps": list(event_steps) if event_steps is not None else [0] * len(events),
        "now": now,
        "kinds": [OutboxKind(entry.kind).value for entry in entries],
        "message_ids": [entry.message_id for entry in entries],
        "routing_keys": [entry.routing_key for entry in entries],
        "headers": [json_str(dict(entry.headers)) for entry in entries],
        "bodies": [entry.body for entry in entries],
        "entry_steps": list(entry_steps) if entry_steps is not None else [0] * len(entries),
    }


async def append_event_rows(
    connection: AsyncConnection, events: Sequence[AltinnEvent], entries: Sequence[OutboxEntry], now: datetime
) -> None:
    """Store ``events`` in the log, queue ``entries`` (their CloudEvents, and any other publish the caller
    commits with them) and owe each event to the webhook subscriptions that want it: one statement on
    PostgreSQL, up to four on SQLite."""
    if connection.dialect.name == "postgresql":
        await connection.execute(_PG_APPEND, pg_append_params(events, entries, now))
        return
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
