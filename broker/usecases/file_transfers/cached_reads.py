"""A step's resource and parties from the registry cache where the broker keeps one (PostgreSQL, listening),
else from the store in the step's own unit of work.

Each step of a small transfer read its resource (settings and access list), and an initialize its sender and
recipients too: three of the transfer's round trips to the database, for rows that change seldom. The
cache forgets them whenever a participant or a resource changes (a trigger notifies every process)."""

from __future__ import annotations

from collections.abc import Iterable

from broker.domain.file_transfers import ResourceSettings
from broker.domain.participants import Participant
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.services import Services


async def resource_of(services: Services, uow: UnitOfWork, resource_id: str) -> ResourceSettings | None:
    if services.registry is None:
        return await uow.resources.get(resource_id)
    return await services.registry.resource(uow.resources, resource_id)


async def participants_of(services: Services, uow: UnitOfWork, orgnrs: Iterable[str]) -> dict[str, Participant]:
    if services.registry is None:
        return await uow.participants.get_many(orgnrs)
    return await services.registry.get_many(uow.participants, orgnrs)
