"""Is the caller still an active participant? Asked on every authenticated request.

An access token is a signed statement that lives for minutes; disabling a participant must take effect on
its next request, on every broker process, not when its token expires. The answer comes from the registry
cache when the cache knows it is current (PostgreSQL: every process clears it when the participants table
notifies a change; SQLite: the registry's change counter, one read, has not moved), else from the store.
A submission's caller check on SQLite reads no counter when the cache knows the caller: its store reads
the counter under the write lock and applies the registry rules to the sender, who is the caller, again
when it has moved; a participant disabled since the last read is refused there (422 participant-inactive)
rather than before its body is read (401).
"""

from __future__ import annotations

from broker.domain.participants import Participant
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.services import Services


async def caller_is_active(services: Services, orgnr: str, confirmed_at_store: bool = False) -> bool:
    """``confirmed_at_store``: the request stores a submission, whose store applies the registry rules to
    the sender (the caller) against the registry as it commits; a cached answer then needs no read now."""

    async def read() -> Participant | None:
        async with UnitOfWork(services.engine) as uow:
            return await uow.participants.get(orgnr)

    registry = services.registry
    if registry is None:
        participant = await read()
    elif confirmed_at_store:
        participant = await registry.lookup_confirmed_at_store(orgnr, read)
    else:
        participant = await registry.lookup_current(orgnr, read)
    return participant is not None and participant.active
