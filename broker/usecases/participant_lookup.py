"""Capability lookup: before addressing a message, a sender checks who can receive which type."""

from __future__ import annotations

from broker.domain.errors import Error, Refusal
from broker.domain.participants import Participant
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.services import Services


async def list_participants(services: Services) -> list[Participant]:
    async with UnitOfWork(services.engine) as uow:
        return list(await uow.participants.list())


async def find_participant(services: Services, orgnr: str) -> Participant:
    async with UnitOfWork(services.engine) as uow:
        participant = await uow.participants.get(orgnr)
    if participant is None:
        raise Refusal(Error.NOT_FOUND, f"no participant {orgnr} is registered")
    return participant
