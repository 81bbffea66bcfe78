"""Appending file-transfer events to the event log, in the transaction of the change they announce.

The caller passes the connection (or unit of work) whose transaction records the status change: the event
commits with it or not at all, so no event is told about a change that was rolled back, and none is lost
when the process dies after the commit. Each event also gets an outbox row: the relay publishes it to the
party's events queue as a CloudEvent, with the same guarantee as a message (published, or retried), and
each webhook subscription that wants the event is owed a delivery, made in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.events.altinn_event import AltinnEvent, AltinnEventType, SubjectRole, party_orgnr
from broker.store.event_rows import append_event_rows, cloud_event_entries
from broker.store.outbox_repository import OutboxEntry
from broker.store.tables import file_transfer_events
from broker.store.webhook_repository import event_of


class HoldsConnection(Protocol):
    """A unit of work: anything that holds the connection of an open transaction."""

    @property
    def connection(self) -> AsyncConnection: ...


Transaction = AsyncConnection | HoldsConnection


def _connection_of(transaction: Transaction) -> AsyncConnection:
    return transaction if isinstance(transaction, AsyncConnection) else transaction.connection


async def append_event(
    transaction: Transaction,
    event_type: AltinnEventType | str,
    *,
    resource_id: str,
    file_transfer_id: str | uuid.UUID,
    party: str,
    role: SubjectRole | str | None = None,
    at: datetime | None = None,
) -> AltinnEvent:
    """Append one event for one party (an orgnr, ``0192:<orgnr>`` or the urn form) in the caller's transaction.

    ``event_type`` is an ``AltinnEventType`` or its name (``"published"`` or ``"no.altinn.broker.published"``);
    ``role`` says whether the party is the transfer's sender or a recipient. Returns the event as stored."""
    event = AltinnEvent(
        type=event_type if isinstance(event_type, AltinnEventType) else AltinnEventType.parse(event_type),
        resource_id=resource_id,
        file_transfer_id=str(file_transfer_id),
        party=party_orgnr(party),
        role=SubjectRole(role) if role is not None else None,
        time=(at or datetime.now(UTC)).astimezone(UTC),
    )
    await append_events(transaction, [event])
    return event


async def append_events(
    transaction: Transaction, events: Iterable[AltinnEvent], *, also: Iterable[OutboxEntry] = ()
) -> Sequence[AltinnEvent]:
    """Append several events in one round trip (e.g. ``published`` for the sender and every recipient).

    ``also``: further publishes to queue in the same statement (a published transfer's notices to its
    recipients), so a lifecycle step that announces itself costs one round trip for all it tells."""
    batch = list(events)
    entries = [*cloud_event_entries(batch), *also]
    if entries:
        await append_event_rows(_connection_of(transaction), batch, entries, datetime.now(UTC))
    return batch


async def events_of_transfer(
    connection: AsyncConnection, file_transfer_id: str, *, party: str | None = None
) -> list[AltinnEvent]:
    """A transfer's events in the order they were appended; with ``party``, only those for that orgnr."""
    table = file_transfer_events
    query = sa.select(table).where(table.c.file_transfer_id == file_transfer_id).order_by(table.c.seq)
    if party is not None:
        query = query.where(table.c.party == party)
    result = await connection.execute(query)
    return [event_of(row) for row in result]
