"""The transport seam: what the broker and the participant consumers need from a message bus.

Two implementations keep the same contract: RabbitMQ (``rabbitmq.py``) for a cluster of broker processes,
and an in-process bus (``inprocess.py``) so the embedded default runs with no outside service. The
contract is at-least-once: a delivery is settled only by ``ack``; a ``reject`` with requeue counts toward
the participant's delivery limit, after which the message is dead-lettered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

ExchangeKind = Literal["messages", "events"]

XML_CONTENT_TYPE = "application/xml"
JSON_CONTENT_TYPE = "application/json"
CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"  # a file-transfer event, structured mode

# Header names carried on every routed message, so a consumer can route without parsing the XML.
HEADER_MESSAGE_TYPE = "message-type"
HEADER_SENDER = "sender"
HEADER_RECIPIENT = "recipient"
HEADER_SENDER_REFERENCE = "sender-reference"
HEADER_RECIPIENT_REFERENCE = "recipient-reference"
# Set on dead letters: why the message left its inbox ("rejected" or "delivery_limit").
HEADER_DEATH_REASON = "death-reason"

DEFAULT_DELIVERY_LIMIT = 5


def message_routing_key(recipient: str, message_type: str) -> str:
    """``<recipient orgnr>.<messageType>``: the recipient's binding ``<orgnr>.#`` takes every type."""
    return f"{recipient}.{message_type}"


def routing_headers(
    message_type: str, sender: str, recipient: str, sender_reference: str, recipient_reference: str | None
) -> dict[str, str]:
    """The AMQP headers of a routed message: its routing fields, readable without parsing the body."""
    headers = {
        HEADER_MESSAGE_TYPE: message_type,
        HEADER_SENDER: sender,
        HEADER_RECIPIENT: recipient,
        HEADER_SENDER_REFERENCE: sender_reference,
    }
    if recipient_reference:
        headers[HEADER_RECIPIENT_REFERENCE] = recipient_reference
    return headers


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message or event to publish; ``message_id`` is the broker's id of the message concerned."""

    exchange: ExchangeKind
    routing_key: str
    body: bytes
    message_id: str
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = XML_CONTENT_TYPE


class Delivery(Protocol):
    """A message handed to a consumer; it stays unsettled (and counts toward prefetch) until settled."""

    body: bytes
    message_id: str
    routing_key: str
    headers: Mapping[str, str]
    redelivered: bool
    # How many times this message was handed out and returned before this delivery (0 the first time).
    delivery_count: int

    async def ack(self) -> None: ...

    async def reject(self, requeue: bool) -> None: ...


Handler = Callable[[Delivery], Awaitable[None]]


class Subscription(Protocol):
    """A running consumer; cancelling returns its unsettled deliveries to the queue."""

    async def cancel(self) -> None: ...


# The reason a transport gives for a message the server refused (a nack): transient while a quorum queue has
# no leader, so the relay reports it as an outage of its own rather than a line per batch.
NACKED = "nacked by the server"


class PublishError(Exception):
    """Some messages of a batch were not confirmed; ``failed`` maps batch index to the reason.

    The others of the batch were confirmed, so a caller retries only the failed ones.
    """

    def __init__(self, failed: Mapping[int, str]) -> None:
        self.failed = dict(failed)
        first = ", ".join(f"#{i}: {reason}" for i, reason in sorted(self.failed.items())[:3])
        super().__init__(f"{len(self.failed)} message(s) not confirmed ({first})")


class Transport(Protocol):
    """The message bus as the broker sees it. Every method may be called from one event loop only."""

    # Whether what it confirmed outlives this process (RabbitMQ's quorum queues), or is held in this process's
    # memory and gone with it (the in-process bus): then a publish repeated after a crash is no duplicate, and
    # the relay records publishes with its settle instead of one by one (``OutboxRelay``).
    survives_restart: bool

    async def start(self) -> None:
        """Connect and declare the shared topology; idempotent across processes."""

    async def close(self) -> None: ...

    async def ensure_participant(self, orgnr: str) -> None:
        """Declare the participant's inbox, dead-letter and events queues with their bindings."""

    async def publish(self, batch: Sequence[OutgoingMessage]) -> None:
        """Return once every message is confirmed; raise ``PublishError`` naming those that were not."""

    async def consume(self, orgnr: str, handler: Handler, prefetch: int = 16) -> Subscription:
        """Consume the participant's inbox; at most ``prefetch`` deliveries are unsettled at once."""

    async def consume_events(self, orgnr: str, handler: Handler) -> Subscription:
        """Consume the status events (receipts) addressed to the participant."""

    async def consume_dead_letters(self, orgnr: str | None, handler: Handler) -> Subscription:
        """Consume one participant's dead letters, or with ``None`` the broker's copy of all of them."""

    def healthy(self) -> bool:
        """Whether the transport is connected and able to publish now."""
