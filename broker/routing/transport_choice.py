"""Which transport a broker or a simulator runs on: RabbitMQ when the settings name it, else the in-process bus.

Kept apart from the seam (``transport.py``) so the seam knows none of its implementations.
"""

from __future__ import annotations

from broker.config import Settings
from broker.routing.transport import DEFAULT_DELIVERY_LIMIT, Transport


def create_transport(settings: Settings, delivery_limit: int = DEFAULT_DELIVERY_LIMIT) -> Transport:
    """RabbitMQ when ``settings.amqp_url`` is set, else the in-process bus of the embedded default.

    Each is imported only when chosen: the embedded default never loads the AMQP client."""
    if settings.amqp_url:
        from broker.routing.rabbitmq import RabbitMqTransport

        return RabbitMqTransport(
            settings.amqp_url,
            prefix=settings.amqp_prefix,
            delivery_limit=delivery_limit,
            quorum_group_size=settings.amqp_quorum_group_size,
        )
    from broker.routing.inprocess import InProcessTransport

    return InProcessTransport(delivery_limit=delivery_limit)
