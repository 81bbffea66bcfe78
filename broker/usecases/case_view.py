"""One case as a participant sees it: every message it sent or received under one reference, in order.

A case is found by either party's reference, so a reply (which carries the request's reference as the
recipient's reference) appears in the requester's case too.
"""

from __future__ import annotations

from broker.domain.errors import Error, Refusal
from broker.domain.messages import StoredMessage
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.services import Services


async def view_case(services: Services, caller: str, reference: str) -> list[StoredMessage]:
    async with UnitOfWork(services.engine) as uow:
        messages = await uow.messages.case_messages(reference, caller)
    visible = [message for message in messages if message.visible_to(caller)]
    if not visible:
        raise Refusal(Error.NOT_FOUND, f"no case {reference} with messages for this participant")
    return visible
