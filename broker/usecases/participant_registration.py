"""Registering participants: the seed file at start, ``dsve participants add|load``, the test fixtures.

The entries come checked from ``broker.registry`` (orgnr, role, certificate, capabilities); this writes them.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncEngine

from broker.domain.participants import Participant
from broker.store.unit_of_work import UnitOfWork


async def register_participants(engine: AsyncEngine, participants: Iterable[Participant]) -> int:
    """Upsert the participants in one transaction (idempotent); returns how many were written."""
    count = 0
    async with UnitOfWork(engine) as uow:
        for participant in participants:
            await uow.participants.upsert(participant)
            count += 1
        await uow.commit()
    return count
