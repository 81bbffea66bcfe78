"""Transports for tests: both implementations behind one fixture, and the RabbitMQ clean-up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import aio_pika

from broker.routing.inprocess import InProcessTransport
from broker.routing.rabbitmq import RabbitMqTransport
from broker.routing.topology import Topology
from broker.routing.transport import Delivery, Transport


async def delete_topology(url: str, topology: Topology, orgnrs: Iterable[str]) -> None:
    """Delete every queue and exchange a test declared under its prefix."""
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        names = [topology.broker_dead_queue]
        for orgnr in orgnrs:
            names.extend(topology.participant_queues(orgnr))
        for name in names:
            await channel.queue_delete(name)
        for name in topology.exchanges():
            await channel.exchange_delete(name)
    finally:
        await connection.close()


@asynccontextmanager
async def rabbitmq_transport(
    url: str, prefix: str, orgnrs: Iterable[str], delivery_limit: int = 2, cleanup: bool = True, **kwargs: object
) -> AsyncIterator[RabbitMqTransport]:
    """A started transport; with ``cleanup`` its exit deletes the test's topology (let the outermost do it)."""
    transport = RabbitMqTransport(url, prefix=prefix, delivery_limit=delivery_limit, **kwargs)  # type: ignore[arg-type]
    await transport.start()
    try:
        yield transport
    finally:
        await transport.close()
        if cleanup:
            await delete_topology(url, transport.topology, orgnrs)


@asynccontextmanager
async def inprocess_transport(delivery_limit: int = 2) -> AsyncIterator[InProcessTransport]:
    transport = InProcessTransport(delivery_limit=delivery_limit)
    await transport.start()
    try:
        yield transport
    finally:
        await transport.close()


class Collector:
    """A handler that records deliveries and settles them as told; tests wait on its count."""

    def __init__(self, settle: str = "ack") -> None:
        self.settle = settle
        self.deliveries: list[Delivery] = []
        self._changed = asyncio.Event()

    async def __call__(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        self._changed.set()
        if self.settle == "ack":
            await delivery.ack()
        elif self.settle == "requeue":
            await delivery.reject(requeue=True)
        elif self.settle == "drop":
            await delivery.reject(requeue=False)
        elif self.settle == "raise":
            raise RuntimeError("handler failed")

    async def wait_for(self, count: int, within: float = 10.0) -> list[Delivery]:
        async with asyncio.timeout(within):
            while len(self.deliveries) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.deliveries

    async def stays_at(self, count: int, quiet: float = 0.5) -> bool:
        """Whether nothing more arrives for ``quiet`` seconds (for "not redelivered" checks)."""
        await asyncio.sleep(quiet)
        return len(self.deliveries) == count


__all__ = ["Collector", "Transport", "delete_topology", "inprocess_transport", "rabbitmq_transport"]
