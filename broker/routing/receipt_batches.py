"""Receipt batches: the receipts one relay batch owes a sender travel as one AMQP message per status.

Every status change still has its own receipt (an outbox row, or a ``published`` receipt made after a
confirm), but publishing each as a message of its own made receipts two of every three publishes, about
40 % of RabbitMQ's CPU and a fifth of the broker's at full load. The relay now joins the receipts of a batch
that share a routing key (``<sender>.<status>``) into one message whose body is a JSON array of receipts,
each ``{"messageId", "status", "at"}``. A single receipt is an array of one, so a consumer reads one shape.
The batch is confirmed or failed as a whole; a consumer deduplicates by (messageId, status), as it must
anyway for redeliveries.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from broker.domain.lifecycle import MessageStatus
from broker.routing.transport import JSON_CONTENT_TYPE, OutgoingMessage
from broker.store.status_moves import receipt_routing_key

HEADER_STATUS = "status"
HEADER_RECEIPT_COUNT = "receipts"


def receipt_message(sender: str, status: MessageStatus, entries: Sequence[tuple[str, bytes]]) -> OutgoingMessage:
    """The events message carrying ``entries`` ((message id, receipt entry) pairs) to ``sender``."""
    return OutgoingMessage(
        exchange="events",
        routing_key=receipt_routing_key(sender, status),
        body=b"[" + b",".join(entry for _, entry in entries) + b"]",
        message_id=entries[0][0],
        headers={HEADER_STATUS: status.value, HEADER_RECEIPT_COUNT: str(len(entries))},
        content_type=JSON_CONTENT_TYPE,
    )


def coalesce(outgoing: Sequence[OutgoingMessage]) -> tuple[list[OutgoingMessage], list[list[int]]]:
    """Join the receipts that share a routing key into one array message; others pass through as they are.

    Returns the messages to publish and, for each, the indexes in ``outgoing`` it carries, so a failed
    publish can be traced back to every row in it. Each event's body must be one receipt entry."""
    joined: list[OutgoingMessage] = []
    members: list[list[int]] = []
    by_key: dict[str, int] = {}
    bodies: dict[int, list[bytes]] = {}
    for index, message in enumerate(outgoing):
        if message.exchange != "events" or message.content_type != JSON_CONTENT_TYPE:
            joined.append(message)  # a message, or a CloudEvent: each travels on its own
            members.append([index])
            continue
        slot = by_key.get(message.routing_key)
        if slot is None:
            slot = by_key[message.routing_key] = len(joined)
            joined.append(message)
            members.append([])
            bodies[slot] = []
        members[slot].append(index)
        bodies[slot].append(message.body)
    for slot, parts in bodies.items():
        first = joined[slot]
        headers = {**first.headers, HEADER_RECEIPT_COUNT: str(len(parts))}
        joined[slot] = replace(first, body=b"[" + b",".join(parts) + b"]", headers=headers)
    return joined, members


def receipts_in(body: bytes) -> list[dict[str, Any]]:
    """The receipts an events message carries (for consumers and tests)."""
    parsed = json.loads(body)
    return parsed if isinstance(parsed, list) else [parsed]
