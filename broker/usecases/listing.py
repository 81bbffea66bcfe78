"""Reading a participant's messages: one with its history, or a listing one page at a time, oldest first.

Pages follow the store's running number (``seq``): a client that keeps the cursor of its last page never
misses a message and never sees one twice, however many arrive while it pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from broker.domain.lifecycle import MessageStatus
from broker.domain.messages import StoredMessage
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.message_views import MessageView, load_view, visible_message
from broker.usecases.services import Services

Box = Literal["inbox", "outbox"]
MAX_PAGE = 500
DEFAULT_PAGE = 100


@dataclass(frozen=True, slots=True)
class ListQuery:
    box: Box = "inbox"
    status: MessageStatus | None = None
    message_type: str | None = None
    reference: str | None = None
    since: datetime | None = None
    after_seq: int | None = None
    limit: int = DEFAULT_PAGE


@dataclass(frozen=True, slots=True)
class Page:
    items: tuple[StoredMessage, ...]
    # The seq to continue after, or None on the last page.
    next_after_seq: int | None


async def list_messages(services: Services, caller: str, query: ListQuery) -> Page:
    limit = max(1, min(query.limit, MAX_PAGE))
    async with UnitOfWork(services.engine) as uow:
        rows = await uow.messages.list_for(
            caller,
            box=query.box,
            status=query.status,
            message_type=query.message_type,
            reference=query.reference,
            since=query.since,
            after_seq=query.after_seq,
            limit=limit + 1,
        )
    items = tuple(rows[:limit])
    more = len(rows) > limit
    return Page(items, items[-1].seq if more and items else None)


async def view_message(services: Services, caller: str, message_id: str) -> MessageView:
    """One message with its history, if the caller is its sender or recipient."""
    async with UnitOfWork(services.engine) as uow:
        return await load_view(uow, await visible_message(uow, message_id, caller))
