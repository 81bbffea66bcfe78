"""A nack renews the RabbitMQ publish channel: a channel refused by a quorum queue can stay refused for
seconds after the queue has a leader again, a fresh one registers with the leader there is now."""

from __future__ import annotations

import asyncio

import aio_pika
import pytest

from broker.routing.transport import NACKED, OutgoingMessage, PublishError
from tests.routing.rows import BANK, MEGLER
from tests.routing.transports import rabbitmq_transport

pytestmark = pytest.mark.rabbitmq


def _message(routing_key: str, number: int) -> OutgoingMessage:
    return OutgoingMessage(
        exchange="messages",
        routing_key=routing_key,
        body=b"<m/>",
        message_id=f"m{number}",
        headers={},
        content_type="application/xml",
    )


async def test_a_nack_moves_publishing_to_a_fresh_channel_and_retires_the_old_one(
    amqp_url: str, amqp_prefix: str
) -> None:
    async with rabbitmq_transport(amqp_url, amqp_prefix, [MEGLER, BANK], publish_timeout_s=0.5) as transport:
        await transport.ensure_participant(MEGLER)
        connection = await aio_pika.connect(amqp_url)
        try:
            channel = await connection.channel()
            full = await channel.declare_queue(
                f"{amqp_prefix}.full", auto_delete=True, arguments={"x-max-length": 0, "x-overflow": "reject-publish"}
            )
            await full.bind(transport.topology.messages_exchange, "refused.#")
            await asyncio.sleep(1.1)  # the channel opened at start is old enough to be renewed
            first = transport._publish_channel
            with pytest.raises(PublishError) as refused:
                await transport.publish([_message("refused.x", 1)])
            assert refused.value.failed == {0: NACKED}
            fresh = transport._publish_channel
            assert fresh is not first and first is not None and fresh is not None

            await transport.publish([_message(f"{MEGLER}.intensjonFraBank", 2)])  # confirmed on the fresh one
            with pytest.raises(PublishError):  # refused again at once: no second renewal within the second
                await transport.publish([_message("refused.x", 3)])
            assert transport._publish_channel is fresh
            for _ in range(50):  # retired after the publish timeout (0.5 s here)
                if first.is_closed:
                    break
                await asyncio.sleep(0.1)
            assert first.is_closed and not fresh.is_closed
        finally:
            await connection.close()
