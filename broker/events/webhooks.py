"""Webhook subscriptions and deliveries as plain values.

A participant subscribes one endpoint to the events of one resource (all types, or those it names); it gets
only events whose party it is. Each event owes each matching subscription one delivery, which is pending
until the endpoint answers 2xx, or dead once it has failed too often (then it waits on the dead-letter list
until someone redelivers it).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from broker.events.altinn_event import AltinnEvent, AltinnEventType


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class WebhookSubscription:
    id: str
    party: str
    resource_id: str
    event_types: frozenset[AltinnEventType]  # empty: every type
    endpoint: str
    created_at: datetime

    def wants(self, event: AltinnEvent) -> bool:
        return (
            event.party == self.party
            and event.resource_id == self.resource_id
            and (not self.event_types or event.type in self.event_types)
        )

    def event_type_names(self) -> list[str]:
        return sorted(t.value for t in self.event_types)


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    """The next delivery of a subscription, with what posting it needs."""

    id: int
    attempts: int
    event: AltinnEvent
    endpoint: str
    secret: str


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """A delivery as the console and the API show it."""

    id: int
    subscription_id: str
    party: str
    endpoint: str
    event: AltinnEvent
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


def event_types_of(names: Sequence[str]) -> frozenset[AltinnEventType]:
    """The types a subscriber names (full names, or the short ones such as ``published``); ValueError if unknown."""
    return frozenset(AltinnEventType.parse(name) for name in names)
