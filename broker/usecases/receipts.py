"""Receipts: every status change of a message publishes an event to its sender.

The event is an outbox row written in the same transaction as the change, so a sender is told about a
change if and only if it committed. The body has the same shape as the relay's own receipts
(``published``, ``dead_lettered``): message id, status and time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from broker.domain.lifecycle import MessageStatus
from broker.routing.receipt_batches import receipt_entry
from broker.store.unit_of_work import UnitOfWork

EVENT_KIND = "event"


async def add_receipt(uow: UnitOfWork, message_id: str, sender: str, status: MessageStatus, at: datetime) -> None:
    await uow.outbox.add(
        EVENT_KIND,
        message_id,
        f"{sender}.{status.value}",
        {"status": status.value},
        receipt_entry(message_id, status, at),
    )


async def add_receipts_for(uow: UnitOfWork, message_ids: Iterable[str], status: MessageStatus, at: datetime) -> int:
    """Receipts for messages moved in bulk (expiry, purge), whose senders are read back from the store."""
    count = 0
    for message_id in message_ids:
        message = await uow.messages.get(message_id, with_content=False)
        if message is not None:
            await add_receipt(uow, message.id, message.sender, status, at)
            count += 1
    return count
