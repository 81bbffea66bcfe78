"""Webhook subscriptions and their deliveries in the store.

Deliveries are made by ``fan_out`` in the transaction that appends the events, so an event committed is an
event owed to every subscription that matched then. A delivering process leases the subscription (not the
delivery): while the lease holds no other process posts to that endpoint, which keeps the deliveries of one
subscription in order and never posts one event twice at the same time. The deliveries of a disabled
participant are held, as its outbox rows are (``broker.store.outbox_queue``), and made once it is enabled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.events.altinn_event import AltinnEvent, AltinnEventType, SubjectRole
from broker.events.webhooks import DeliveryRecord, DeliveryStatus, PendingDelivery, WebhookSubscription
from broker.store.tables import file_transfer_events, participants, webhook_deliveries, webhook_subscriptions

_ERROR_LENGTH = 400
_subs, _deliveries, _events = webhook_subscriptions, webhook_deliveries, file_transfer_events

# Built once: every webhook dispatcher asks it once a second, with or without subscriptions.
_NOW = sa.bindparam("now", type_=_subs.c.retry_at.type)
_DUE = (
    sa.select(_subs.c.id)
    .where(
        sa.exists(
            sa.select(_deliveries.c.subscription_id).where(
                _deliveries.c.status == DeliveryStatus.PENDING.value, _deliveries.c.subscription_id == _subs.c.id
            )
        ),
        ~sa.exists().where(participants.c.orgnr == _subs.c.party, participants.c.active.is_(False)),
        sa.or_(_subs.c.retry_at.is_(None), _subs.c.retry_at <= _NOW),
        sa.or_(_subs.c.lease_until.is_(None), _subs.c.lease_until < _NOW),
    )
    .order_by(_subs.c.retry_at.nulls_first(), _subs.c.id)
    .limit(sa.bindparam("limit", type_=sa.Integer))
)


def event_of(row: Any) -> AltinnEvent:
    """An event from a row with the columns of ``file_transfer_events``."""
    return AltinnEvent(
        type=AltinnEventType(row.event_type),
        resource_id=row.resource_id,
        file_transfer_id=row.file_transfer_id,
        party=row.party,
        role=SubjectRole(row.role) if row.role is not None else None,
        time=row.at,
        id=row.id,
        seq=row.seq,
    )


def subscriptions_of(parties: Iterable[str]) -> sa.Select[Any]:
    """The subscriptions of ``parties``: those an event for one of them may be owed to."""
    return sa.select(_subs).where(_subs.c.party.in_(sorted(set(parties))))


def subscription_of(row: Any) -> WebhookSubscription:
    return WebhookSubscription(
        id=row.id,
        party=row.party,
        resource_id=row.resource_id,
        event_types=frozenset(AltinnEventType(name) for name in row.event_types),
        endpoint=row.endpoint,
        created_at=row.created_at,
    )


class WebhookRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    # Subscriptions: every query names the party, so a participant reaches only its own.

    async def add(self, subscription: WebhookSubscription, secret: str) -> None:
        await self._connection.execute(
            sa.insert(_subs).values(
                id=subscription.id,
                party=subscription.party,
                resource_id=subscription.resource_id,
                event_types=subscription.event_type_names(),
                endpoint=subscription.endpoint,
                secret=secret,
                created_at=subscription.created_at,
            )
        )

    async def of_party(self, party: str) -> list[WebhookSubscription]:
        rows = await self._connection.execute(
            sa.select(_subs).where(_subs.c.party == party).order_by(_subs.c.created_at, _subs.c.id)
        )
        return [subscription_of(row) for row in rows]

    async def find(self, party: str, subscription_id: str) -> WebhookSubscription | None:
        rows = await self._connection.execute(
            sa.select(_subs).where(_subs.c.party == party, _subs.c.id == subscription_id)
        )
        row = rows.first()
        return subscription_of(row) if row is not None else None

    async def delete(self, party: str, subscription_id: str) -> bool:
        result = await self._connection.execute(
            sa.delete(_subs).where(_subs.c.party == party, _subs.c.id == subscription_id)
        )
        return result.rowcount > 0

    async def fan_out(self, events: Sequence[AltinnEvent], now: datetime) -> int:
        """Owe each event to every subscription of its party that wants it; returns how many deliveries."""
        rows = await self._connection.execute(subscriptions_of({event.party for event in events}))
        return await self.owe(events, [subscription_of(row) for row in rows], now)

    async def owe(
        self, events: Sequence[AltinnEvent], subscriptions: Sequence[WebhookSubscription], now: datetime
    ) -> int:
        """The deliveries of ``events`` to those of ``subscriptions`` that want them (no statement if none)."""
        owed = [
            {
                "subscription_id": subscription.id,
                "event_id": event.id,
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "created_at": now,
            }
            for event in events
            for subscription in subscriptions
            if subscription.wants(event)
        ]
        if owed:
            await self._connection.execute(sa.insert(_deliveries), owed)
        return len(owed)

    # Delivering.

    async def due(self, now: datetime, limit: int) -> list[str]:
        """Subscriptions with a pending delivery, out of back-off, not leased by anyone, of a party not disabled."""
        rows = await self._connection.execute(_DUE, {"now": now, "limit": limit})
        return [row.id for row in rows]

    async def lease(self, subscription_id: str, owner: str, now: datetime, until: datetime) -> bool:
        """Take (or renew) the subscription's lease; False when another process holds it."""
        result = await self._connection.execute(
            sa.update(_subs)
            .where(
                _subs.c.id == subscription_id,
                sa.or_(_subs.c.lease_until.is_(None), _subs.c.lease_until < now, _subs.c.lease_owner == owner),
            )
            .values(lease_owner=owner, lease_until=until)
        )
        return result.rowcount == 1

    async def release(self, subscription_id: str, owner: str, retry_at: datetime | None) -> None:
        await self._connection.execute(
            sa.update(_subs)
            .where(_subs.c.id == subscription_id, _subs.c.lease_owner == owner)
            .values(lease_owner=None, lease_until=None, retry_at=retry_at)
        )

    async def next_pending(self, subscription_id: str, limit: int) -> list[PendingDelivery]:
        """The oldest pending deliveries of the subscription, in the order they must go."""
        rows = await self._connection.execute(
            sa.select(
                _deliveries.c.id.label("delivery_id"),
                _deliveries.c.attempts,
                _subs.c.endpoint,
                _subs.c.secret,
                *_events.c,
            )
            .select_from(
                _deliveries.join(_subs, _subs.c.id == _deliveries.c.subscription_id).join(
                    _events, _events.c.id == _deliveries.c.event_id
                )
            )
            .where(
                _deliveries.c.subscription_id == subscription_id,
                _deliveries.c.status == DeliveryStatus.PENDING.value,
            )
            .order_by(_deliveries.c.id)
            .limit(limit)
        )
        return [PendingDelivery(row.delivery_id, row.attempts, event_of(row), row.endpoint, row.secret) for row in rows]

    async def delivered(self, delivery_ids: Sequence[int], now: datetime) -> None:
        """Record deliveries the endpoint took (2xx), in one statement."""
        if delivery_ids:
            await self._connection.execute(
                sa.update(_deliveries)
                .where(_deliveries.c.id.in_(list(delivery_ids)), _deliveries.c.status == DeliveryStatus.PENDING.value)
                .values(status=DeliveryStatus.DELIVERED.value, attempts=_deliveries.c.attempts + 1, finished_at=now)
            )

    async def finish(
        self, delivery_id: int, status: DeliveryStatus, attempts: int, error: str | None, now: datetime | None
    ) -> None:
        """Record a failed attempt: still pending (backed off), or given up (dead)."""
        await self._connection.execute(
            sa.update(_deliveries)
            .where(_deliveries.c.id == delivery_id, _deliveries.c.status == DeliveryStatus.PENDING.value)
            .values(
                status=status.value,
                attempts=attempts,
                last_error=error[:_ERROR_LENGTH] if error is not None else None,
                finished_at=now,
            )
        )

    # The dead-letter list.

    async def deliveries(
        self, status: DeliveryStatus, party: str | None = None, limit: int = 200
    ) -> list[DeliveryRecord]:
        """Deliveries of one status, newest first; ``party`` limits them to one participant's."""
        query = (
            sa.select(
                _deliveries.c.id.label("delivery_id"),
                _deliveries.c.subscription_id,
                _deliveries.c.status,
                _deliveries.c.attempts,
                _deliveries.c.last_error,
                _deliveries.c.created_at,
                _deliveries.c.finished_at,
                _subs.c.endpoint,
                *_events.c,
            )
            .select_from(
                _deliveries.join(_subs, _subs.c.id == _deliveries.c.subscription_id).join(
                    _events, _events.c.id == _deliveries.c.event_id
                )
            )
            .where(_deliveries.c.status == status.value)
            .order_by(_deliveries.c.id.desc())
            .limit(limit)
        )
        if party is not None:
            query = query.where(_subs.c.party == party)
        rows = await self._connection.execute(query)
        return [
            DeliveryRecord(
                id=row.delivery_id,
                subscription_id=row.subscription_id,
                party=row.party,
                endpoint=row.endpoint,
                event=event_of(row),
                status=DeliveryStatus(row.status),
                attempts=row.attempts,
                last_error=row.last_error,
                created_at=row.created_at,
                finished_at=row.finished_at,
            )
            for row in rows
        ]

    async def redeliver(self, delivery_id: int, party: str | None = None) -> bool:
        """Put a dead delivery back in line (its subscription's order: by id, so it goes first)."""
        owned = sa.select(_subs.c.id).where(_subs.c.id == _deliveries.c.subscription_id)
        if party is not None:
            owned = owned.where(_subs.c.party == party)
        result = await self._connection.execute(
            sa.update(_deliveries)
            .where(
                _deliveries.c.id == delivery_id,
                _deliveries.c.status == DeliveryStatus.DEAD.value,
                sa.exists(owned),
            )
            .values(status=DeliveryStatus.PENDING.value, attempts=0, finished_at=None)
        )
        if result.rowcount != 1:
            return False
        subscription = sa.select(_deliveries.c.subscription_id).where(_deliveries.c.id == delivery_id)
        await self._connection.execute(
            sa.update(_subs).where(_subs.c.id == subscription.scalar_subquery()).values(retry_at=None)
        )
        return True
