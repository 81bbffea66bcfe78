"""The dead-letter watcher: the broker learns which messages a participant could not handle.

RabbitMQ (or the in-process bus) dead-letters a message the recipient rejected or kept failing on; a copy
reaches the broker's dead-letter queue, and the watcher records ``dead_lettered`` with a receipt to the
sender. Several broker processes may watch the same queue: the conditional status move makes a repeat
harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from broker.domain.clock import utc_now
from broker.domain.lifecycle import MessageStatus
from broker.routing.transport import HEADER_DEATH_REASON, HEADER_RECIPIENT, Delivery, Subscription, Transport
from broker.store.status_moves import BROKER_ACTOR, RELAY_ACTOR, StatusMoves

log = logging.getLogger(__name__)


class DeadLetterWatcher:
    """Consumes the broker's dead-letter queue; ``on_event`` is told when a receipt was enqueued (relay.notify)."""

    def __init__(self, engine: AsyncEngine, transport: Transport, on_event: Callable[[], None] | None = None) -> None:
        self._engine = engine
        self._transport = transport
        self._on_event = on_event
        self._subscription: Subscription | None = None
        self.recorded = 0

    async def start(self) -> None:
        if self._subscription is None:
            self._subscription = await self._transport.consume_dead_letters(None, self._handle)

    async def stop(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            await subscription.cancel()

    async def _handle(self, delivery: Delivery) -> None:
        reason = delivery.headers.get(HEADER_DEATH_REASON, "rejected")
        recipient = delivery.headers.get(HEADER_RECIPIENT) or delivery.routing_key.split(".", 1)[0]
        detail = f"dead-lettered at {recipient}: {reason}"
        async with self._engine.begin() as conn:
            # A dead letter can overtake the relay's own bookkeeping of the publish; it proves the publish,
            # so the step is recorded here (and the relay, finding the message moved on, records nothing).
            # Its receipt is not: the relay publishes the ``published`` receipt of every confirmed message.
            moves = StatusMoves(conn)
            await moves.move(
                [delivery.message_id],
                MessageStatus.PUBLISHED,
                actor=RELAY_ACTOR,
                at=utc_now(),
                only_from=frozenset({MessageStatus.ACCEPTED}),
                receipts_for=frozenset(),
            )
            moved = await moves.move_one(
                delivery.message_id, MessageStatus.DEAD_LETTERED, actor=BROKER_ACTOR, at=utc_now(), detail=detail
            )
        await delivery.ack()
        if moved:
            self.recorded += 1
            log.warning("message %s %s", delivery.message_id, detail)
            if self._on_event is not None:
                self._on_event()
