"""Re-delivery of a dead-lettered message, the one change an operator makes from the console.

In one transaction: the status moves back from ``dead_lettered`` to ``published`` (the lifecycle allows
exactly that step, so a message that moved on meanwhile is left alone), a new outbox row queues the
message again for its recipient, and the sender gets a receipt. The relay then publishes it as any other.
"""

from __future__ import annotations

import logging

from broker.domain.lifecycle import MessageStatus
from broker.routing.transport import message_routing_key, routing_headers
from broker.store.outbox_kind import OutboxKind
from broker.store.outbox_repository import OutboxEntry
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.services import Services

log = logging.getLogger("broker.console")

ACTOR_PREFIX = "console:"
ACTOR_LENGTH = 64


async def redeliver(services: Services, message_id: str, username: str) -> bool:
    """Queue a dead-lettered message again; False when it is not (or no longer) dead-lettered."""
    now = services.clock()
    actor = (ACTOR_PREFIX + username)[:ACTOR_LENGTH]
    async with UnitOfWork(services.engine) as uow:
        message = await uow.messages.get(message_id, with_content=False)
        if message is None or message.status is not MessageStatus.DEAD_LETTERED:
            return False
        moved = await uow.statuses.move_one(
            message.id,
            MessageStatus.PUBLISHED,
            actor=actor,
            at=now,
            detail="re-delivery requested in the console",
            only_from=frozenset({MessageStatus.DEAD_LETTERED}),
        )
        if moved is None:
            return False
        headers = routing_headers(
            message.message_type,
            message.sender,
            message.recipient,
            message.sender_reference,
            message.recipient_reference,
        )
        routing_key = message_routing_key(message.recipient, message.message_type)
        await uow.outbox.add_many([OutboxEntry(OutboxKind.MESSAGE, message.id, routing_key, headers)])
        await uow.commit()
    services.outbox_written()
    log.info("message re-delivered from the console", extra={"username": username, "message_id": message_id})
    return True
