"""The benchmark's RabbitMQ consumers: every recipient's inbox, read the way a participant system would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from bench.common import HEADER_SENDER_REFERENCE, RECIPIENTS, Tally, declare_recipients
from broker.routing.topology import Topology

# The consumers acknowledge what arrived in this window with one ``multiple`` ack.
ACK_EVERY_S = 0.005


async def rabbit_consumer(amqp_url: str, prefix: str, tally: Tally) -> Callable[[], Awaitable[object]]:
    """Consume every recipient's inbox, prefetch 500, acknowledged in batches; answer an async closer.

    The queues are declared by the broker's own transport; the consuming is aiormq's, without aio-pika's
    message objects and the transport's task per delivery: like the HTTP client, the consumers stand in
    for participant systems on other machines, and what they spend here is taken from the servers.
    A delivery is acknowledged after it is handled, but with one ``multiple`` ack for everything handled in
    ``ACK_EVERY_S`` (RabbitMQ's advice for throughput): one ack per delivery cost the load generator a socket
    write each (a fifth of its CPU) and RabbitMQ a quorum-queue settle command each."""
    import aiormq

    await declare_recipients(amqp_url, prefix)
    connection = await aiormq.connect(amqp_url)
    channel = await connection.channel()
    await channel.basic_qos(prefetch_count=500)

    loop = asyncio.get_running_loop()
    last_tag = 0
    timer: asyncio.TimerHandle | None = None
    acking: set[asyncio.Task[None]] = set()

    def ack_up_to() -> None:
        # One ``multiple`` ack settles every delivery up to the last one handled: deliveries are handled in
        # order and one channel carries both inboxes, so nothing unhandled is acknowledged with them.
        nonlocal timer
        timer = None
        task = loop.create_task(channel.basic_ack(last_tag, multiple=True))
        acking.add(task)
        task.add_done_callback(acking.discard)

    async def on_message(message: aiormq.abc.DeliveredMessage) -> None:
        nonlocal last_tag, timer
        headers = message.header.properties.headers or {}
        reference = headers.get(HEADER_SENDER_REFERENCE, b"")
        if isinstance(reference, bytes):
            reference = reference.decode("utf-8", "replace")
        tally.delivered(str(reference), time.time())
        last_tag = message.delivery_tag
        if timer is None:
            timer = loop.call_later(ACK_EVERY_S, ack_up_to)

    async def close() -> None:
        # An ack still in flight when the connection closes fails; it is awaited here, not left to be
        # reported as an exception nobody retrieved.
        if timer is not None:
            timer.cancel()
        if acking:
            await asyncio.gather(*acking, return_exceptions=True)
        await connection.close()

    topology = Topology(prefix)
    for orgnr in RECIPIENTS:
        await channel.basic_consume(topology.inbox_queue(orgnr), on_message, no_ack=False)
    return close
