"""Downloading a message's content: the signed bytes exactly as submitted.

The recipient's first download moves the message to ``downloaded`` (history, receipt to the sender);
later downloads, and the sender's own, change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from broker.domain.errors import Error, Refusal
from broker.domain.lifecycle import MessageStatus, can_move
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.message_views import visible_message
from broker.usecases.services import Services


@dataclass(frozen=True, slots=True)
class Download:
    content: bytes
    message_type: str
    sha256: str
    became_downloaded: bool


async def download_content(services: Services, caller: str, message_id: str) -> Download:
    async with UnitOfWork(services.engine) as uow:
        message = await visible_message(uow, message_id, caller, with_content=True)
        if message.content is None:
            raise Refusal(Error.NOT_FOUND, f"the content of message {message_id} was purged after its retention")
        moved = False
        if caller == message.recipient and can_move(message.status, MessageStatus.DOWNLOADED):
            now = services.clock()
            moved = await uow.statuses.move_one(message.id, MessageStatus.DOWNLOADED, actor=caller, at=now) is not None
            if moved:
                await uow.commit()
    if moved:
        services.outbox_written()
    return Download(message.content, message.message_type, message.sha256, moved)
