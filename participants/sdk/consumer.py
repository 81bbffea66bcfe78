"""The participant's inbox consumer: manual ack after its handler succeeds, dedup of redeliveries.

Outcomes map onto the bus: success → ack (after the id is recorded as handled); ``PermanentFailure``
→ reject without requeue, so the message goes to the participant's dead letters and the broker learns of
it; any other exception → reject with requeue, a transient failure that counts toward the delivery limit.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable

from broker.routing.transport import Delivery, Subscription, Transport
from participants.sdk.dedup import DedupStore

log = logging.getLogger(__name__)

MessageHandler = Callable[[Delivery], Awaitable[None]]
HandledHook = Callable[[str], Awaitable[None] | None]


class PermanentFailure(Exception):
    """The message can never be handled (it breaks a business rule, it names an unknown case): do not retry."""


class InboxConsumer:
    """Consumes one participant's inbox and calls ``handler`` at most once per message id."""

    def __init__(
        self,
        transport: Transport,
        orgnr: str,
        handler: MessageHandler,
        dedup_store: DedupStore,
        prefetch: int = 16,
        on_handled: HandledHook | None = None,
    ) -> None:
        self._transport = transport
        self.orgnr = orgnr
        self._handler = handler
        self._dedup = dedup_store
        self.prefetch = prefetch
        self._on_handled = on_handled
        self._subscription: Subscription | None = None
        # A redelivery may arrive while the first delivery of the same id is still being handled
        # (its channel died under it); the second waits for the first instead of running in parallel.
        self._in_flight: dict[str, asyncio.Future[None]] = {}
        self._stopping = False
        self.handled = 0
        self.duplicates = 0
        self.failed = 0

    async def start(self) -> None:
        if self._subscription is None:
            self._stopping = False
            await self._dedup.open()
            self._subscription = await self._transport.consume(self.orgnr, self._on_delivery, self.prefetch)

    async def stop(self) -> None:
        """Stop consuming and wait for the handlings under way, so the dedup store may be closed after."""
        self._stopping = True
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            await subscription.cancel()
        while self._in_flight:
            await asyncio.gather(*(asyncio.shield(f) for f in list(self._in_flight.values())))

    async def _on_delivery(self, delivery: Delivery) -> None:
        message_id = delivery.message_id
        while (earlier := self._in_flight.get(message_id)) is not None:
            await asyncio.shield(earlier)
        if self._stopping:
            await delivery.reject(requeue=True)
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._in_flight[message_id] = done
        try:
            await self._handle_once(delivery)
        finally:
            del self._in_flight[message_id]
            done.set_result(None)

    async def _handle_once(self, delivery: Delivery) -> None:
        message_id = delivery.message_id
        if await self._dedup.contains(message_id):
            self.duplicates += 1
            await delivery.ack()
            return
        try:
            await self._handler(delivery)
        except PermanentFailure as exc:
            self.failed += 1
            log.warning("message %s refused for good: %s", message_id, exc)
            await delivery.reject(requeue=False)
            return
        except Exception:
            self.failed += 1
            log.exception("message %s failed; it will be redelivered", message_id)
            await delivery.reject(requeue=True)
            return
        if not await self._dedup.remember(message_id):
            self.duplicates += 1
        else:
            self.handled += 1
        await delivery.ack()
        await self._after(message_id)

    async def _after(self, message_id: str) -> None:
        if self._on_handled is None:
            return
        try:
            result = self._on_handled(message_id)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("on_handled failed for message %s", message_id)
