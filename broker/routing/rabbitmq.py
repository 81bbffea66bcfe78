"""The RabbitMQ transport: robust connection, publisher confirms, ``mandatory`` publishes, quorum queues.

aio-pika restores after a connection loss only the channels, exchanges, queues and consumers it still
holds, so this class keeps a strong reference to every one of them for its whole life. A publish in
flight when the connection drops fails and is retried by the relay; a delivery in flight comes back
(redelivered), which is why consumers deduplicate by message id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence

import aio_pika
import aiormq
from aio_pika.abc import (
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from pamqp.common import FieldTable, FieldValue

from broker import outage_log
from broker.routing.amqp_logs import summarise_connection_losses
from broker.routing.amqp_nodes import connect_nodes, node_urls
from broker.routing.batch_publish import BatchMessage, publish_batch
from broker.routing.topology import Topology, declare_participant, declare_shared
from broker.routing.transport import (
    DEFAULT_DELIVERY_LIMIT,
    HEADER_DEATH_REASON,
    NACKED,
    Handler,
    OutgoingMessage,
    PublishError,
)

log = logging.getLogger(__name__)

CLOSE_STEP_TIMEOUT_S = 5.0
CLOSE_AWAY_TIMEOUT_S = 0.5
# A channel that had a publish refused may go on refusing: the quorum-queue client in RabbitMQ's channel
# process keeps a queue it was refused by in a "reject publish" state until the queue says otherwise, which
# after the queue's leader node was killed took ~10 s (the client's resend timer) in the soak, while the
# queue had a new leader within a second or two. A fresh channel registers with the current leader, so a
# nack opens one (at most this often); the old one is closed once its confirms are in.
RENEW_PUBLISH_CHANNEL_S = 1.0

# Raised when settling on a channel that is gone; the broker redelivers such a message anyway.
_CHANNEL_GONE = (aio_pika.exceptions.ChannelInvalidStateError, aiormq.exceptions.AMQPError, ConnectionError)


class RabbitDelivery:
    def __init__(self, message: AbstractIncomingMessage) -> None:
        self._message = message
        self.body = message.body
        self.message_id = message.message_id or ""
        self.routing_key = message.routing_key or ""
        self.headers: Mapping[str, str] = _plain_headers(message.headers)
        self.redelivered = bool(message.redelivered)
        count = message.headers.get("x-delivery-count", 0)
        self.delivery_count = count if isinstance(count, int) else 0
        self.settled = False

    async def ack(self) -> None:
        if not self.settled:
            self.settled = True
            with contextlib.suppress(*_CHANNEL_GONE):
                await self._message.ack()

    async def reject(self, requeue: bool) -> None:
        if not self.settled:
            self.settled = True
            with contextlib.suppress(*_CHANNEL_GONE):
                await self._message.reject(requeue=requeue)


def _plain_headers(headers: Mapping[str, FieldValue]) -> dict[str, str]:
    plain: dict[str, str] = {}
    for key, value in headers.items():
        if isinstance(value, bytes):
            plain[key] = value.decode("utf-8", "replace")
        elif isinstance(value, str | int):
            plain[key] = str(value)
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], Mapping):
        reason = deaths[0].get("reason")
        plain[HEADER_DEATH_REASON] = reason.decode() if isinstance(reason, bytes) else str(reason)
    return plain


class RabbitSubscription:
    def __init__(self, owner: RabbitMqTransport, channel: AbstractRobustChannel, queue: AbstractQueue) -> None:
        self._owner = owner
        self.channel = channel
        self.queue = queue
        self.consumer_tag: str | None = None

    async def cancel(self) -> None:
        """Stop consuming and close the channel, which returns its unsettled deliveries to the queue.

        Bounded in time: while RabbitMQ is away a robust channel would wait for it to return (the server
        has returned the deliveries already when the connection dropped)."""
        self._owner._subscriptions.discard(self)
        timeout = CLOSE_STEP_TIMEOUT_S if self._owner.healthy() else CLOSE_AWAY_TIMEOUT_S
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._cancel(), timeout)

    async def _cancel(self) -> None:
        if self.consumer_tag is not None:
            with contextlib.suppress(*_CHANNEL_GONE):
                await self.queue.cancel(self.consumer_tag)
        with contextlib.suppress(*_CHANNEL_GONE):
            await self.channel.close()


class RabbitMqTransport:
    """The transport contract on RabbitMQ, with names and arguments from :class:`Topology`."""

    survives_restart = True

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "dsve",
        delivery_limit: int = DEFAULT_DELIVERY_LIMIT,
        connection_name: str = "dsve-broker",
        reconnect_interval_s: float = 1.0,
        publish_timeout_s: float = 30.0,
        quorum_group_size: int = 0,
    ) -> None:
        self.topology = Topology(prefix, delivery_limit, quorum_group_size)
        self._urls = node_urls(url)
        self._connection_name = connection_name
        self._reconnect_interval_s = reconnect_interval_s
        self._publish_timeout_s = publish_timeout_s
        self._connection: AbstractRobustConnection | None = None
        self._declare_channel: AbstractRobustChannel | None = None
        self._publish_channel: AbstractRobustChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._queues: dict[str, AbstractQueue] = {}
        self._ensured: set[str] = set()
        self._declare_lock = asyncio.Lock()
        self._subscriptions: set[RabbitSubscription] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._publish_channel_since = 0.0
        self._renewing = False
        self._retiring: set[asyncio.Task[None]] = set()  # replaced publish channels, closed after their confirms

    async def start(self) -> None:
        if self._connection is not None:
            return
        summarise_connection_losses()
        self._connection = await connect_nodes(
            self._urls,
            reconnect_interval=self._reconnect_interval_s,
            client_properties={"connection_name": self._connection_name},
        )
        self._connection.reconnect_callbacks.add(_reconnected)
        self._declare_channel = await self._connection.channel()
        broker_dead = await declare_shared(self._declare_channel, self.topology)
        self._queues[broker_dead.name] = broker_dead
        self._publish_channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        self._publish_channel_since = asyncio.get_running_loop().time()
        for kind, name in (("messages", self.topology.messages_exchange), ("events", self.topology.events_exchange)):
            self._exchanges[kind] = await self._publish_channel.declare_exchange(
                name, aio_pika.ExchangeType.TOPIC, durable=True
            )

    async def close(self) -> None:
        """Cancel the consumers, let running handlers finish, close the connection; each step bounded, so a
        broker stops promptly also while RabbitMQ is away (a robust channel would wait for it to return)."""
        for subscription in list(self._subscriptions):
            await subscription.cancel()
        for retiring in list(self._retiring):
            retiring.cancel()  # the connection's close closes their channels
        if self._handlers:
            await asyncio.wait(list(self._handlers), timeout=self._publish_timeout_s)
        connection, self._connection = self._connection, None
        if connection is not None:
            timeout = CLOSE_STEP_TIMEOUT_S if connection.connected.is_set() else CLOSE_AWAY_TIMEOUT_S
            with contextlib.suppress(TimeoutError, *_CHANNEL_GONE):
                await asyncio.wait_for(connection.close(), timeout)
        self._exchanges.clear()
        self._queues.clear()
        self._ensured.clear()

    async def ensure_participant(self, orgnr: str) -> None:
        if orgnr in self._ensured:
            return
        async with self._declare_lock:
            if orgnr in self._ensured:
                return
            self._queues.update(await declare_participant(self._channel(self._declare_channel), self.topology, orgnr))
            self._ensured.add(orgnr)

    async def publish(self, batch: Sequence[OutgoingMessage]) -> None:
        """Publish the whole batch in one write and wait for every confirm (see ``batch_publish``)."""
        if not batch:
            return
        channel = await self._channel(self._publish_channel).get_underlay_channel()
        if not isinstance(channel, aiormq.Channel):
            raise PublishError({index: "the publish channel is not an aiormq channel" for index in range(len(batch))})
        messages = [
            BatchMessage(
                self._exchanges[m.exchange].name, m.routing_key, m.body, m.message_id, m.content_type, dict(m.headers)
            )
            for m in batch
        ]
        confirmations = await publish_batch(channel, messages)
        try:
            _, late = await asyncio.wait(confirmations, timeout=self._publish_timeout_s)
        except asyncio.CancelledError:
            for confirmation in confirmations:  # nobody will read them: no "exception never retrieved"
                confirmation.cancel()
            raise
        for confirmation in late:
            confirmation.cancel()
        failed: dict[int, str] = {}
        for index, confirmation in enumerate(confirmations):
            if confirmation.cancelled():
                failed[index] = f"not confirmed within {self._publish_timeout_s:g} s"
            elif (error := confirmation.exception()) is not None:
                failed[index] = _describe(error)
        if failed:
            if NACKED in failed.values():
                await self._renew_publish_channel()
            raise PublishError(failed)

    async def _renew_publish_channel(self) -> None:
        """Publish on a fresh channel from now on (``RENEW_PUBLISH_CHANNEL_S``); retire the old one."""
        loop = asyncio.get_running_loop()
        connection = self._connection
        if connection is None or self._renewing or loop.time() - self._publish_channel_since < RENEW_PUBLISH_CHANNEL_S:
            return
        self._renewing = True
        try:
            fresh = await connection.channel(publisher_confirms=True, on_return_raises=True)
        except Exception as exc:  # the connection going away: its reconnect restores the old channel
            log.debug("could not open a fresh publish channel: %s", _describe(exc))
            return
        finally:
            self._renewing = False
        old, self._publish_channel = self._publish_channel, fresh
        self._publish_channel_since = loop.time()
        if old is not None:
            retiring = loop.create_task(self._retire(old))
            self._retiring.add(retiring)
            retiring.add_done_callback(self._retiring.discard)

    async def _retire(self, channel: AbstractRobustChannel) -> None:
        await asyncio.sleep(self._publish_timeout_s)  # every publish on it has its confirm, or has given up
        with contextlib.suppress(TimeoutError, *_CHANNEL_GONE):
            await asyncio.wait_for(channel.close(), CLOSE_STEP_TIMEOUT_S)

    async def consume(self, orgnr: str, handler: Handler, prefetch: int = 16) -> RabbitSubscription:
        await self.ensure_participant(orgnr)
        return await self._subscribe(
            self.topology.inbox_queue(orgnr), self.topology.inbox_arguments(), handler, prefetch
        )

    async def consume_events(self, orgnr: str, handler: Handler) -> RabbitSubscription:
        await self.ensure_participant(orgnr)
        return await self._subscribe(self.topology.events_queue(orgnr), self.topology.plain_arguments(), handler, 64)

    async def consume_dead_letters(self, orgnr: str | None, handler: Handler) -> RabbitSubscription:
        if orgnr is None:
            name = self.topology.broker_dead_queue
        else:
            await self.ensure_participant(orgnr)
            name = self.topology.dead_queue(orgnr)
        return await self._subscribe(name, self.topology.plain_arguments(), handler, 64)

    def healthy(self) -> bool:
        connection, channel = self._connection, self._publish_channel
        return (
            connection is not None
            and connection.connected.is_set()
            and not connection.is_closed
            and channel is not None
            and not channel.is_closed
        )

    async def _subscribe(
        self, queue_name: str, arguments: FieldTable, handler: Handler, prefetch: int
    ) -> RabbitSubscription:
        if self._connection is None:
            raise RuntimeError("the RabbitMQ transport is not started")
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        queue = await channel.declare_queue(queue_name, durable=True, arguments=arguments)
        subscription = RabbitSubscription(self, channel, queue)

        async def handle(delivery: RabbitDelivery) -> None:
            try:
                await handler(delivery)
            except Exception:
                log.exception("handler failed on message %s from %s", delivery.message_id, queue_name)
                await delivery.reject(requeue=True)

        async def on_message(message: AbstractIncomingMessage) -> None:
            # aiormq cancels its callbacks when the channel dies; a handler cut between its effect and
            # its bookkeeping would apply the effect again on redelivery. It runs to the end in a task of
            # its own (its settle is then void and the message comes back, to be recognised as handled).
            task = asyncio.get_running_loop().create_task(handle(RabbitDelivery(message)))
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
            await asyncio.shield(task)

        subscription.consumer_tag = await queue.consume(on_message, no_ack=False)
        self._subscriptions.add(subscription)
        return subscription

    def _channel(self, channel: AbstractRobustChannel | None) -> AbstractRobustChannel:
        if channel is None:
            raise RuntimeError("the RabbitMQ transport is not started")
        return channel


def _reconnected(*_: object) -> None:
    outage_log.QUEUE.recovered()


def _describe(error: BaseException) -> str:
    if isinstance(error, aiormq.exceptions.PublishError):
        return "unroutable: returned by the server (no queue bound)"
    if isinstance(error, aiormq.exceptions.DeliveryError):
        return NACKED
    return f"{type(error).__name__}: {error}"
