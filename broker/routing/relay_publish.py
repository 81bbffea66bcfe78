"""The relay's publish stage: claimed outbox rows out to the transport, confirmed or failed.

A batch's messages go out at once with all their confirms in flight; the events among its rows (receipts
such as ``accepted``) wait for the settle stage, which joins them with the ``published`` receipts of the
confirmed messages into receipt batches.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from broker import outage_log
from broker.domain.clock import utc_now
from broker.routing.transport import (
    CLOUDEVENTS_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    NACKED,
    XML_CONTENT_TYPE,
    OutgoingMessage,
    PublishError,
    Transport,
)
from broker.store.outbox_kind import OutboxKind
from broker.store.outbox_repository import ClaimedRow

log = logging.getLogger("broker.routing.relay")

# Failure reasons that mean the connection or channel went away, not that RabbitMQ refused the message.
_CONNECTION_SIGNS = ("ChannelInvalidState", "Connection", "ChannelClosed", "not confirmed within", "RuntimeError")

_CONTENT_TYPES = {
    OutboxKind.MESSAGE: XML_CONTENT_TYPE,
    OutboxKind.EVENT: JSON_CONTENT_TYPE,  # receipts, joined into arrays by the settle stage
    OutboxKind.CLOUDEVENT: CLOUDEVENTS_CONTENT_TYPE,  # each travels on its own
    OutboxKind.NOTICE: JSON_CONTENT_TYPE,  # a published file transfer, to one recipient's inbox
}
# The kinds that go to the recipients' inboxes (the messages exchange); the others are events about them.
_TO_INBOX = frozenset({OutboxKind.MESSAGE, OutboxKind.NOTICE})
# On every message: the relay that published this copy (its ``leased_by`` name, process id first), so a
# message delivered twice can be traced to the processes that published it (a takeover, a retry).
HEADER_PUBLISHED_BY = "published-by"


@dataclass(frozen=True, slots=True)
class Published:
    """A batch after its messages' publish: confirmed, failed, its event rows (receipts not yet published),
    the rows whose message was purged before it could be published, when the confirms arrived, and the
    message rows not published because their publish was recorded already (by a relay that stopped before
    settling them: each carries the time of its confirm)."""

    done: list[ClaimedRow]
    failed: list[ClaimedRow]
    events: list[ClaimedRow]
    purged: list[ClaimedRow]
    confirmed_at: datetime
    recorded: list[ClaimedRow] = field(default_factory=list)


def outgoing(row: ClaimedRow, published_by: str = "") -> OutgoingMessage | None:
    """What to publish for a row; None for a message whose content was purged before it was published.
    ``published_by`` names the relay in a message's headers (not in an event's)."""
    if row.body is None and row.kind is OutboxKind.MESSAGE:
        return None
    headers = row.headers
    if published_by and row.kind is OutboxKind.MESSAGE:
        headers = {**headers, HEADER_PUBLISHED_BY: published_by}
    return OutgoingMessage(
        exchange="messages" if row.kind in _TO_INBOX else "events",
        routing_key=row.routing_key,
        body=row.body or b"",
        message_id=row.message_id,
        headers=headers,
        content_type=_CONTENT_TYPES[row.kind],
    )


class Publisher:
    """Publishes for one relay; declares each addressee's queues once, so a publish is unroutable only on a
    real fault."""

    def __init__(self, transport: Transport, publisher_name: str = "") -> None:
        self._transport = transport
        self._ensured: set[str] = set()
        self._name = publisher_name

    async def ensure_queues(self, batch: Sequence[OutgoingMessage]) -> None:
        for message in batch:
            orgnr = message.routing_key.split(".", 1)[0]
            if orgnr not in self._ensured:
                await self._transport.ensure_participant(orgnr)
                self._ensured.add(orgnr)

    async def publish(self, batch: Sequence[OutgoingMessage]) -> dict[int, str]:
        """Publish and wait for the confirms; the indexes of those not confirmed, with the reason."""
        if not batch:
            return {}
        try:
            await self.ensure_queues(batch)
            await self._transport.publish(batch)
        except PublishError as exc:
            return exc.failed
        except Exception as exc:
            return dict.fromkeys(range(len(batch)), repr(exc))
        outage_log.PUBLISHING.recovered()
        return {}

    def report_unconfirmed(self, description: str) -> None:
        """While RabbitMQ is away, or refuses publishes while a queue elects a leader, every batch fails the
        same way: one outage in the log, not a line each (hundreds a second in the soak's leader kill)."""
        if not self._transport.healthy() or any(sign in description for sign in _CONNECTION_SIGNS):
            outage_log.QUEUE.failed(f"outbox relay: {description}")
        elif NACKED in description:
            outage_log.PUBLISHING.failed(f"outbox relay: {description}")
        else:
            log.warning("outbox relay: %s", description)

    async def publish_messages(self, batch: Sequence[ClaimedRow]) -> Published:
        """Publish the batch's messages; its events and purged rows are passed on to the settle stage."""
        messages: list[ClaimedRow] = []
        sent: list[OutgoingMessage] = []
        events: list[ClaimedRow] = []
        purged: list[ClaimedRow] = []
        recorded: list[ClaimedRow] = []
        for row in batch:
            message = outgoing(row, self._name)
            if row.published_at is not None:
                recorded.append(row)  # on its queue already: published again it would be delivered twice
            elif message is None:
                log.warning("message %s was purged before it was published; skipping it", row.message_id)
                purged.append(row)
            elif row.kind is OutboxKind.MESSAGE:
                messages.append(row)
                sent.append(message)
            else:
                events.append(row)
        failed = await self.publish(sent)
        confirmed_at = utc_now()
        if failed:
            self.report_unconfirmed(f"{len(failed)} of {len(sent)} not confirmed: {next(iter(failed.values()))}")
        done = [row for i, row in enumerate(messages) if i not in failed]
        return Published(done, [messages[i] for i in sorted(failed)], events, purged, confirmed_at, recorded)
