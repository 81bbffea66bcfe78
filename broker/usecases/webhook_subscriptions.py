"""Webhook subscriptions of a participant, and the dead-letter list of deliveries.

Every call is scoped: a participant makes, sees and deletes only its own subscriptions (another's is
"not found"), and the console's participant staff see only their organisation's dead deliveries.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from broker.domain.errors import Error, Refusal
from broker.events.webhook_endpoints import EndpointRefused, check_endpoint
from broker.events.webhook_signature import new_secret
from broker.events.webhooks import DeliveryRecord, DeliveryStatus, WebhookSubscription, event_types_of
from broker.store.unit_of_work import UnitOfWork
from broker.store.webhook_repository import WebhookRepository
from broker.usecases.services import Services

MAX_SUBSCRIPTIONS_PER_PARTY = 50
_RESOURCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_RESOURCE_URN = "urn:altinn:resource:"


def _malformed(detail: str) -> Refusal:
    return Refusal(Error.MALFORMED_REQUEST, detail)


def resource_id_of(value: str) -> str:
    """A resource id as given, or from Altinn's ``urn:altinn:resource:<id>``."""
    resource_id = value.removeprefix(_RESOURCE_URN)
    if not _RESOURCE_ID.match(resource_id):
        raise _malformed("resourceFilter must be a resource id (letters, digits, '_', '.', '-') or its urn")
    return resource_id


def checked_subscription(
    party: str,
    endpoint: str,
    resource: str,
    event_types: Sequence[str],
    *,
    allow_loopback: bool,
    now: datetime | None = None,
) -> WebhookSubscription:
    """The subscription a client asks for, checked (endpoint, resource, event types); a 400 refusal otherwise."""
    try:
        checked = check_endpoint(endpoint, allow_loopback=allow_loopback)
    except EndpointRefused as exc:
        raise _malformed(str(exc)) from None
    try:
        types = event_types_of(event_types)
    except ValueError:
        raise _malformed(f"typeFilter names an unknown event type: {list(event_types)[:20]}") from None
    return WebhookSubscription(
        id=str(uuid.uuid4()),
        party=party,
        resource_id=resource_id_of(resource),
        event_types=types,
        endpoint=checked,
        created_at=now or datetime.now(UTC),
    )


async def subscribe(
    services: Services, party: str, endpoint: str, resource: str, event_types: Sequence[str]
) -> tuple[WebhookSubscription, str]:
    """Make a subscription; returns it and its signing secret, which is never shown again."""
    allow_loopback = services.settings.webhook_allow_loopback
    subscription = checked_subscription(
        party, endpoint, resource, event_types, allow_loopback=allow_loopback, now=services.clock()
    )
    secret = new_secret()
    async with UnitOfWork(services.engine) as uow:
        repository = WebhookRepository(uow.connection)
        if len(await repository.of_party(party)) >= MAX_SUBSCRIPTIONS_PER_PARTY:
            raise Refusal(Error.MALFORMED_REQUEST, f"at most {MAX_SUBSCRIPTIONS_PER_PARTY} subscriptions each")
        await repository.add(subscription, secret)
        await uow.commit()
    return subscription, secret


async def subscriptions_of(services: Services, party: str) -> list[WebhookSubscription]:
    async with UnitOfWork(services.engine) as uow:
        return await WebhookRepository(uow.connection).of_party(party)


async def find_subscription(services: Services, party: str, subscription_id: str) -> WebhookSubscription:
    async with UnitOfWork(services.engine) as uow:
        found = await WebhookRepository(uow.connection).find(party, subscription_id)
    if found is None:
        raise Refusal(Error.NOT_FOUND, "no such subscription")
    return found


async def unsubscribe(services: Services, party: str, subscription_id: str) -> None:
    """Delete a subscription and the deliveries it is still owed."""
    async with UnitOfWork(services.engine) as uow:
        deleted = await WebhookRepository(uow.connection).delete(party, subscription_id)
        await uow.commit()
    if not deleted:
        raise Refusal(Error.NOT_FOUND, "no such subscription")


async def dead_deliveries(services: Services, party: str | None) -> list[DeliveryRecord]:
    """Deliveries that failed too often, newest first; ``party`` None: every participant's (operators)."""
    async with UnitOfWork(services.engine) as uow:
        return await WebhookRepository(uow.connection).deliveries(DeliveryStatus.DEAD, party)


async def redeliver(services: Services, delivery_id: int, party: str | None) -> bool:
    """Put a dead delivery back in its subscription's line; False when there is no such dead delivery."""
    async with UnitOfWork(services.engine) as uow:
        done = await WebhookRepository(uow.connection).redeliver(delivery_id, party)
        await uow.commit()
    return done
