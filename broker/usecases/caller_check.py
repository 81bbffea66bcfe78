"""Is the caller still an active participant? Asked on every authenticated request.

An access token is a signed statement that lives for minutes; disabling a participant must take effect on
its next request, on every broker process, not when its token expires. PostgreSQL: the answer comes from
the registry cache, which every process clears when the participants table notifies a change, so a hit
costs no round trip. SQLite (one process, and the ``dsve participants`` command writes the same file): one
indexed read in the process.
"""

from __future__ import annotations

from broker.domain.participants import Participant
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.services import Services


async def caller_is_active(services: Services, orgnr: str) -> bool:
    registry = services.registry
    participant: Participant | None
    if registry is not None:
        known, participant = registry.peek(orgnr)
        if known:
            return participant is not None and participant.active
    async with UnitOfWork(services.engine) as uow:
        if registry is not None:
            participant = (await registry.get_many(uow.participants, [orgnr])).get(orgnr)
        else:
            participant = await uow.participants.get(orgnr)
    return participant is not None and participant.active
