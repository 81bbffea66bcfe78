"""The ``transport`` fixture: every test that takes it runs on the in-process bus and on RabbitMQ."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from broker.routing.transport import Transport
from tests.routing.rows import BANK, MEGLER
from tests.routing.transports import inprocess_transport, rabbitmq_transport

DELIVERY_LIMIT = 2


@pytest.fixture(params=["inprocess", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
async def transport(request: pytest.FixtureRequest) -> AsyncIterator[Transport]:
    if request.param == "inprocess":
        async with inprocess_transport(DELIVERY_LIMIT) as bus:
            await bus.ensure_participant(MEGLER)
            await bus.ensure_participant(BANK)
            yield bus
        return
    url, prefix = request.getfixturevalue("amqp_url"), request.getfixturevalue("amqp_prefix")
    async with rabbitmq_transport(url, prefix, [MEGLER, BANK], DELIVERY_LIMIT) as bus:
        await bus.ensure_participant(MEGLER)
        await bus.ensure_participant(BANK)
        yield bus
