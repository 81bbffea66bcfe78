"""Confirming a message: the recipient says it has handled it. Repeating a confirm changes nothing."""

from __future__ import annotations

from dataclasses import dataclass

from broker.domain.errors import Error, Refusal
from broker.domain.lifecycle import MessageStatus, can_move
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.message_views import MessageView, load_view, visible_message
from broker.usecases.services import Services


@dataclass(frozen=True, slots=True)
class Confirmation:
    view: MessageView
    became_confirmed: bool


async def confirm_message(services: Services, caller: str, message_id: str) -> Confirmation:
    async with UnitOfWork(services.engine) as uow:
        message = await visible_message(uow, message_id, caller)
        if caller != message.recipient:
            raise Refusal(Error.NOT_RECIPIENT, "only the recipient confirms a message")
        moved = False
        if message.status is not MessageStatus.CONFIRMED:
            if not can_move(message.status, MessageStatus.CONFIRMED):
                raise Refusal(Error.INVALID_TRANSITION, f"a message that is {message.status.value} cannot be confirmed")
            now = services.clock()
            moved = await uow.statuses.move_one(message.id, MessageStatus.CONFIRMED, actor=caller, at=now) is not None
            if not moved:
                # Another request moved it in between: confirmed (fine) or expired (refused).
                message = await visible_message(uow, message_id, caller)
                if message.status is not MessageStatus.CONFIRMED:
                    raise Refusal(
                        Error.INVALID_TRANSITION, f"a message that is {message.status.value} cannot be confirmed"
                    )
        view = await load_view(uow, await visible_message(uow, message_id, caller))
        await uow.commit()
    if moved:
        services.outbox_written()
    return Confirmation(view, moved)
