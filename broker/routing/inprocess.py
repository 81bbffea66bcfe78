"""The in-process bus of the embedded default: the transport contract on asyncio queues, no outside service.

It keeps RabbitMQ's semantics that the rest of the system relies on (at-least-once, requeue on reject,
a delivery count with dead-lettering past the limit, unroutable publishes refused), so code and tests
written against one transport hold for the other. Queues live in memory: a restart loses what was not
yet consumed, which the embedded default accepts because participants can also fetch their inbox over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from broker.routing.transport import (
    DEFAULT_DELIVERY_LIMIT,
    HEADER_DEATH_REASON,
    Handler,
    OutgoingMessage,
    PublishError,
)


@dataclass(slots=True)
class _Envelope:
    message: OutgoingMessage
    headers: dict[str, str]
    delivery_count: int = 0
    redelivered: bool = False


class _Queue:
    """A FIFO with waiting getters; ``dead_letter`` receives what is rejected or over the limit."""

    def __init__(self, name: str, dead_letter: _DeadLetterRoute | None, delivery_limit: int | None) -> None:
        self.name = name
        self.dead_letter = dead_letter
        self.delivery_limit = delivery_limit
        self._items: deque[_Envelope] = deque()
        self._wakeup = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, envelope: _Envelope, front: bool = False) -> None:
        if front:
            self._items.appendleft(envelope)
        else:
            self._items.append(envelope)
        self._wakeup.set()

    async def get(self) -> _Envelope:
        while not self._items:
            self._wakeup.clear()
            await self._wakeup.wait()
        envelope = self._items.popleft()
        if self._items:
            self._wakeup.set()
        return envelope

    def give_back(self, envelope: _Envelope) -> None:
        """A returned delivery: counted, then requeued at the head or dead-lettered past the limit."""
        envelope.delivery_count += 1
        envelope.redelivered = True
        if self.delivery_limit is not None and envelope.delivery_count > self.delivery_limit:
            self.kill(envelope, "delivery_limit")
        else:
            self.put(envelope, front=True)

    def kill(self, envelope: _Envelope, reason: str) -> None:
        if self.dead_letter is not None:
            self.dead_letter.route(envelope, reason)


@dataclass(slots=True)
class _DeadLetterRoute:
    """Where one inbox's dead letters go: the participant's dead-letter queue and the broker's."""

    targets: list[_Queue] = field(default_factory=list)

    def route(self, envelope: _Envelope, reason: str) -> None:
        headers = {**envelope.headers, HEADER_DEATH_REASON: reason}
        for queue in self.targets:
            queue.put(_Envelope(envelope.message, dict(headers)))


class _InProcessDelivery:
    def __init__(self, envelope: _Envelope, queue: _Queue, consumer: _Consumer) -> None:
        message = envelope.message
        self.body = message.body
        self.message_id = message.message_id
        self.routing_key = message.routing_key
        self.headers: Mapping[str, str] = dict(envelope.headers)
        self.redelivered = envelope.redelivered
        self.delivery_count = envelope.delivery_count
        self._envelope = envelope
        self._queue = queue
        self._consumer = consumer
        self.settled = False

    async def ack(self) -> None:
        self._settle()

    async def reject(self, requeue: bool) -> None:
        if not self._settle():
            return
        if requeue:
            self._queue.give_back(self._envelope)
        else:
            self._queue.kill(self._envelope, "rejected")

    def _settle(self) -> bool:
        if self.settled:
            return False
        self.settled = True
        self._consumer.settled(self)
        return True

    def give_back(self) -> None:
        """The consumer went away with this delivery unsettled: it returns to the queue, as on a closed channel."""
        if not self.settled:
            self.settled = True
            self._queue.give_back(self._envelope)


class _Consumer:
    def __init__(self, queue: _Queue, handler: Handler, prefetch: int) -> None:
        self._queue = queue
        self._handler = handler
        self._slots = asyncio.Semaphore(max(1, prefetch))
        self._unsettled: set[_InProcessDelivery] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._loop_task = asyncio.get_running_loop().create_task(self._run(), name=f"consume {queue.name}")

    async def _run(self) -> None:
        while True:
            await self._slots.acquire()
            envelope = await self._queue.get()
            delivery = _InProcessDelivery(envelope, self._queue, self)
            self._unsettled.add(delivery)
            task = asyncio.get_running_loop().create_task(self._handle(delivery))
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)

    async def _handle(self, delivery: _InProcessDelivery) -> None:
        try:
            await self._handler(delivery)
        except asyncio.CancelledError:
            raise
        except Exception:
            # An unsettled delivery whose handler failed goes back, so it is not stuck until the consumer ends.
            await delivery.reject(requeue=True)

    def settled(self, delivery: _InProcessDelivery) -> None:
        if delivery in self._unsettled:
            self._unsettled.discard(delivery)
            self._slots.release()

    async def cancel(self) -> None:
        self._loop_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._loop_task
        for task in list(self._handlers):
            task.cancel()
        for task in list(self._handlers):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for delivery in list(self._unsettled):
            delivery.give_back()
        self._unsettled.clear()


class InProcessTransport:
    """The transport contract inside one process; see the module docstring for what it keeps and drops."""

    survives_restart = False

    def __init__(self, delivery_limit: int = DEFAULT_DELIVERY_LIMIT) -> None:
        self.delivery_limit = delivery_limit
        self._inboxes: dict[str, _Queue] = {}
        self._events: dict[str, _Queue] = {}
        self._dead: dict[str, _Queue] = {}
        self._broker_dead: _Queue | None = None
        self._consumers: set[_Consumer] = set()
        self._running = False

    async def start(self) -> None:
        if self._broker_dead is None:
            self._broker_dead = _Queue("dead", None, None)
        self._running = True

    async def close(self) -> None:
        self._running = False
        for consumer in list(self._consumers):
            await consumer.cancel()
        self._consumers.clear()

    async def ensure_participant(self, orgnr: str) -> None:
        self._require_running()
        if orgnr in self._inboxes:
            return
        assert self._broker_dead is not None
        dead = _Queue(f"dead.{orgnr}", None, None)
        self._dead[orgnr] = dead
        self._events[orgnr] = _Queue(f"events.{orgnr}", None, None)
        route = _DeadLetterRoute([dead, self._broker_dead])
        self._inboxes[orgnr] = _Queue(f"inbox.{orgnr}", route, self.delivery_limit)

    async def publish(self, batch: Sequence[OutgoingMessage]) -> None:
        self._require_running()
        failed: dict[int, str] = {}
        for index, message in enumerate(batch):
            orgnr = message.routing_key.split(".", 1)[0]
            queues = self._inboxes if message.exchange == "messages" else self._events
            queue = queues.get(orgnr)
            if queue is None:
                failed[index] = f"unroutable: no queue bound for {message.exchange} {message.routing_key!r}"
                continue
            queue.put(_Envelope(message, dict(message.headers)))
        if failed:
            raise PublishError(failed)

    async def consume(self, orgnr: str, handler: Handler, prefetch: int = 16) -> _Subscription:
        return self._subscribe(self._queue(self._inboxes, orgnr), handler, prefetch)

    async def consume_events(self, orgnr: str, handler: Handler) -> _Subscription:
        return self._subscribe(self._queue(self._events, orgnr), handler, 64)

    async def consume_dead_letters(self, orgnr: str | None, handler: Handler) -> _Subscription:
        self._require_running()
        queue = self._broker_dead if orgnr is None else self._queue(self._dead, orgnr)
        assert queue is not None
        return self._subscribe(queue, handler, 64)

    def healthy(self) -> bool:
        return self._running

    def queue_depth(self, kind: str, orgnr: str) -> int:
        """Messages waiting (not handed out) in one of a participant's queues: "inbox", "events" or "dead"."""
        queues = {"inbox": self._inboxes, "events": self._events, "dead": self._dead}[kind]
        queue = queues.get(orgnr)
        return len(queue) if queue is not None else 0

    def _queue(self, queues: dict[str, _Queue], orgnr: str) -> _Queue:
        self._require_running()
        queue = queues.get(orgnr)
        if queue is None:
            raise LookupError(f"participant {orgnr} has no queues: call ensure_participant first")
        return queue

    def _subscribe(self, queue: _Queue, handler: Handler, prefetch: int) -> _Subscription:
        consumer = _Consumer(queue, handler, prefetch)
        self._consumers.add(consumer)
        return _Subscription(consumer, self._consumers)

    def _require_running(self) -> None:
        if not self._running:
            raise RuntimeError("the in-process transport is not started")


class _Subscription:
    def __init__(self, consumer: _Consumer, registry: set[_Consumer]) -> None:
        self._consumer = consumer
        self._registry = registry

    async def cancel(self) -> None:
        if self._consumer in self._registry:
            self._registry.discard(self._consumer)
            await self._consumer.cancel()
