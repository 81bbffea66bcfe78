"""The RabbitMQ names and queue arguments, and their idempotent declaration.

Arguments are explicit because RabbitMQ 3.10 sets no delivery limit by default, and because a queue
re-declared with other arguments is refused: every process must declare exactly these. The dead-letter
exchange keeps the routing key ``<recipient>.<messageType>``, so one binding per participant sorts its dead
letters into ``P.dead.<orgnr>`` while the broker's own queue (bound ``#``) sees all of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractQueue
from pamqp.common import FieldTable

from broker.routing.transport import DEFAULT_DELIVERY_LIMIT


@dataclass(frozen=True, slots=True)
class Topology:
    prefix: str = "dsve"
    delivery_limit: int = DEFAULT_DELIVERY_LIMIT
    # Members per quorum queue (its replicas) when it is first declared; 0 leaves it to the server (every node
    # of the cluster). Part of the queue's identity: every process declaring the queues must use the same.
    quorum_group_size: int = 0

    @property
    def messages_exchange(self) -> str:
        return f"{self.prefix}.messages"

    @property
    def events_exchange(self) -> str:
        return f"{self.prefix}.events"

    @property
    def dead_exchange(self) -> str:
        return f"{self.prefix}.dead"

    @property
    def broker_dead_queue(self) -> str:
        return f"{self.prefix}.broker.dead"

    def inbox_queue(self, orgnr: str) -> str:
        return f"{self.prefix}.inbox.{orgnr}"

    def dead_queue(self, orgnr: str) -> str:
        return f"{self.prefix}.dead.{orgnr}"

    def events_queue(self, orgnr: str) -> str:
        return f"{self.prefix}.events.{orgnr}"

    def exchanges(self) -> tuple[str, ...]:
        return (self.messages_exchange, self.events_exchange, self.dead_exchange)

    def participant_queues(self, orgnr: str) -> tuple[str, ...]:
        return (self.inbox_queue(orgnr), self.dead_queue(orgnr), self.events_queue(orgnr))

    def inbox_arguments(self) -> FieldTable:
        return {
            **self.plain_arguments(),
            "x-delivery-limit": self.delivery_limit,
            "x-dead-letter-exchange": self.dead_exchange,
        }

    def plain_arguments(self) -> FieldTable:
        """Dead-letter and events queues: replicated, without a limit (nothing handles them automatically)."""
        if self.quorum_group_size > 0:
            return {"x-queue-type": "quorum", "x-quorum-initial-group-size": self.quorum_group_size}
        return {"x-queue-type": "quorum"}


def participant_binding(orgnr: str) -> str:
    return f"{orgnr}.#"


async def declare_shared(channel: AbstractChannel, topology: Topology) -> AbstractQueue:
    """Declare the three exchanges and the broker's dead-letter queue; return that queue."""
    for name in topology.exchanges():
        await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(topology.broker_dead_queue, durable=True, arguments=topology.plain_arguments())
    await queue.bind(topology.dead_exchange, routing_key="#")
    return queue


async def declare_participant(channel: AbstractChannel, topology: Topology, orgnr: str) -> dict[str, AbstractQueue]:
    """Declare the participant's inbox, dead-letter and events queues and bind them; keyed by queue name."""
    binding = participant_binding(orgnr)
    inbox = await channel.declare_queue(topology.inbox_queue(orgnr), durable=True, arguments=topology.inbox_arguments())
    await inbox.bind(topology.messages_exchange, routing_key=binding)
    dead = await channel.declare_queue(topology.dead_queue(orgnr), durable=True, arguments=topology.plain_arguments())
    await dead.bind(topology.dead_exchange, routing_key=binding)
    events = await channel.declare_queue(
        topology.events_queue(orgnr), durable=True, arguments=topology.plain_arguments()
    )
    await events.bind(topology.events_exchange, routing_key=binding)
    return {queue.name: queue for queue in (inbox, dead, events)}


async def delete_topology(channel: AbstractChannel, topology: Topology, orgnrs: Iterable[str]) -> None:
    """Remove what a throw-away prefix declared (a demo run, a benchmark): its queues, then its exchanges."""
    for orgnr in orgnrs:
        for name in topology.participant_queues(orgnr):
            await channel.queue_delete(name)
    await channel.queue_delete(topology.broker_dead_queue)
    for name in topology.exchanges():
        await channel.exchange_delete(name)
