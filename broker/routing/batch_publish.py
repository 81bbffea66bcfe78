"""Publish many messages on one aiormq channel as one frame write, each with its own publisher confirm.

aio-pika's ``Exchange.publish`` (and aiormq's ``basic_publish`` under it) sends one message per call: it
takes the channel's lock, queues the message's frames and, by default, holds the lock until the writer
task has written them, so a batch of N costs N event-loop round trips and N socket writes, each of which
wakes RabbitMQ for one message. Measured on the relay at full load (pg1, 2 cores): 1,273–1,363 msg/s with
one publish per call against 1,418 with the batch written at once, and RabbitMQ's CPU 0.25 → 0.21 ms per
message. Neither library offers a batch publish, so this module does what ``basic_publish`` does for
every message of the batch under one hold of the lock and hands the writer a single frame payload, its
frames encoded by ``amqp_frames`` (the bytes pamqp would write, at a third of the cost).

It relies on aiormq's channel bookkeeping for publisher confirms (``delivery_tag``, ``confirmations``,
``message_id_delivery_tag``, ``write_queue``), which is what its own ``basic_publish`` uses; the version
range in ``pyproject.toml`` is the one this was written and tested against. Returns (``mandatory``: no
queue bound) are matched by AMQP message id, as aiormq matches them, and fail that message's confirm.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import aiormq
from aiormq.abc import ChannelFrame, ConfirmationFrameType
from aiormq.exceptions import ChannelInvalidStateError
from pamqp.common import FieldTable

from broker.routing.amqp_frames import publish_frames


@dataclass(frozen=True, slots=True)
class BatchMessage:
    """What one publish of the batch needs, already in AMQP terms."""

    exchange: str
    routing_key: str
    body: bytes
    message_id: str
    content_type: str
    headers: FieldTable


Confirmation = asyncio.Future[ConfirmationFrameType]


def _forget(channel: aiormq.Channel, message_id: str, tag: int) -> Callable[[Confirmation], None]:
    def forget(_: Confirmation) -> None:
        if channel.message_id_delivery_tag.get(message_id) == tag:
            channel.message_id_delivery_tag.pop(message_id, None)

    return forget


async def publish_batch(channel: aiormq.Channel, batch: Sequence[BatchMessage]) -> list[Confirmation]:
    """Queue the whole batch as persistent, mandatory publishes in one write; answer one confirm per message.

    Each future resolves with the ``Basic.Ack`` frame, or fails: ``DeliveryError`` on a nack,
    ``PublishError`` when the server returned the message, the channel's error when it closed. The caller
    waits for them (with its own timeout) and cancels the ones it stops waiting for."""
    if not channel.publisher_confirms:
        raise ChannelInvalidStateError("batch publishing needs a channel with publisher confirms")
    futures: list[Confirmation] = []
    async with channel.lock:
        frames: list[bytes] = []
        max_size = channel.max_content_size
        first_tag = channel.delivery_tag + 1
        try:
            for message in batch:
                channel.delivery_tag += 1
                tag = channel.delivery_tag
                confirmation: Confirmation = channel.create_future()
                channel.confirmations[tag] = confirmation
                channel.message_id_delivery_tag[message.message_id] = tag
                confirmation.add_done_callback(_forget(channel, message.message_id, tag))
                futures.append(confirmation)
                frames.append(
                    publish_frames(
                        channel.number,
                        message.exchange,
                        message.routing_key,
                        message.body,
                        message.message_id,
                        message.content_type,
                        message.headers,
                        max_size,
                    )
                )
            await channel.write_queue.put(ChannelFrame(payload=b"".join(frames), should_close=False))
        except BaseException:
            # Nothing reached the server: give the delivery tags back, as basic_publish does.
            for tag in range(first_tag, channel.delivery_tag + 1):
                channel.confirmations.pop(tag, None)
            channel.delivery_tag = first_tag - 1
            for confirmation in futures:
                confirmation.cancel()
            raise
    return futures
