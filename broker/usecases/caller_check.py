"""Is the caller still an active participant? Asked on every authenticated request.

An access token is a signed statement that lives for minutes; disabling a participant must take effect on
its next request, on every broker process, not when its token expires. The answer comes from the registry
cache when the cache knows it is current (PostgreSQL: every process clears it when the participants table
notifies a change; SQLite: the registry's change counter, one read, has not moved), else from the store.
"""

from __future__ import annotations

from broker.domain.participants import Participant
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.services import Services


async def caller_is_active(services: Services, orgnr: str) -> bool:
    async def read() -> Participant | None:
        async with UnitOfWork(services.engine) as uow:
            return await uow.participants.get(orgnr)

    registry = services.registry
    participant = await (read() if registry is None else registry.lookup_current(orgnr, read))
    return participant is not None and participant.active
