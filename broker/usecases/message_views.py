"""Reading one message as a participant sees it: the stored row and its status history.

Every read goes through ``get_visible``, which answers only the sender's and the recipient's messages;
for anyone else a message does not exist (404, never 403, so ids cannot be probed).
"""

from __future__ import annotations

from dataclasses import dataclass

from broker.domain.errors import Error, Refusal
from broker.domain.messages import HistoryEntry, StoredMessage
from broker.store.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class MessageView:
    message: StoredMessage
    history: tuple[HistoryEntry, ...]


async def load_view(uow: UnitOfWork, message: StoredMessage) -> MessageView:
    return MessageView(message, tuple(await uow.history.for_message(message.id)))


def not_found(message_id: str) -> Refusal:
    return Refusal(Error.NOT_FOUND, f"no message {message_id} for this participant")


async def visible_message(
    uow: UnitOfWork, message_id: str, caller: str, *, with_content: bool = False
) -> StoredMessage:
    message = await uow.messages.get_visible(message_id, caller, with_content=with_content)
    if message is None or not message.visible_to(caller):
        raise not_found(message_id)
    return message
