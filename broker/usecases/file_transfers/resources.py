"""Configuring a resource (Altinn's ``PUT/GET /broker/api/v1/resource/{id}``) and who may use it.

Settings not given keep their current value (or the default, for a new resource), as Altinn does. The access
list names registered participants only, each with the right to send, to receive or both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import timedelta

from broker.domain.errors import Error, Refusal
from broker.domain.file_transfers import (
    MAX_GRACE_PERIOD,
    MAX_TIME_TO_LIVE,
    ResourceAccess,
    ResourceSettings,
    parse_duration,
)
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.services import Services

_RESOURCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")
_SCHEMA_SET = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


@dataclass(frozen=True, slots=True)
class ResourceChange:
    """What a PUT states; None leaves a setting as it is."""

    max_file_transfer_size: int | None = None
    time_to_live: str | None = None
    purge_after_all_confirmed: bool | None = None
    purge_grace_period: str | None = None
    use_manifest_file_shim: bool | None = None
    schema_set: str | None = None
    clear_schema_set: bool = False
    access: tuple[ResourceAccess, ...] | None = None


def _invalid(detail: str) -> Refusal:
    return Refusal(Error.FILE_TRANSFER_INVALID, detail)


def check_resource_id(resource_id: str) -> str:
    if not _RESOURCE_ID.match(resource_id):
        raise _invalid("a resource id is 1 to 255 letters, digits, '_', '.' or '-'")
    return resource_id


def _duration(text: str, what: str, example: str, most: timedelta, most_text: str) -> timedelta:
    value = parse_duration(text)
    if value is None:
        raise _invalid(f"Invalid {what} format. Should follow ISO8601 standard for duration. Example: '{example}'")
    if value > most:
        raise _invalid(f"{what[0].upper()}{what[1:]} cannot exceed {most_text}")
    return value


def _applied(services: Services, current: ResourceSettings, change: ResourceChange) -> ResourceSettings:
    settings = current
    if change.max_file_transfer_size is not None:
        size = change.max_file_transfer_size
        if size < 0:
            raise _invalid("Max file transfer size cannot be negative")
        if size == 0:
            raise _invalid("Max file transfer size cannot be zero")
        if size > services.settings.max_file_transfer_size:
            raise _invalid(
                f"Max file transfer size cannot be set higher than {services.settings.max_file_transfer_size} bytes"
            )
        settings = replace(settings, max_file_transfer_size=size)
    if change.time_to_live is not None:
        ttl = _duration(change.time_to_live, "file transfer time to live", "P30D", MAX_TIME_TO_LIVE, "365 days")
        settings = replace(settings, time_to_live=ttl)
    if change.purge_grace_period is not None:
        grace = _duration(change.purge_grace_period, "grace period", "PT2H", MAX_GRACE_PERIOD, "24 hours")
        settings = replace(settings, purge_grace_period=grace)
    if change.purge_after_all_confirmed is not None:
        settings = replace(settings, purge_after_all_confirmed=change.purge_after_all_confirmed)
    if change.use_manifest_file_shim is not None:
        settings = replace(settings, use_manifest_file_shim=change.use_manifest_file_shim)
    if change.clear_schema_set:
        settings = replace(settings, schema_set=None)
    elif change.schema_set is not None:
        if not _SCHEMA_SET.match(change.schema_set):
            raise _invalid("schemaSet is the name of a schema set, such as dsve or etinglysing")
        settings = replace(settings, schema_set=change.schema_set)
    if change.access is not None:
        settings = replace(settings, access=change.access)
    return settings


async def configure_resource(services: Services, resource_id: str, change: ResourceChange) -> ResourceSettings:
    check_resource_id(resource_id)
    async with UnitOfWork(services.engine) as uow:
        current = await uow.resources.get(resource_id) or ResourceSettings(resource_id)
        settings = _applied(services, current, change)
        if change.access:
            known = await uow.participants.get_many(a.orgnr for a in change.access)
            unknown = sorted(a.orgnr for a in change.access if a.orgnr not in known)
            if unknown:
                raise _invalid(f"not registered participants: {', '.join(unknown)}")
        await uow.resources.put(settings, replace_access=change.access is not None)
        await uow.commit()
    if services.registry is not None:
        services.registry.changed()
    return settings


async def get_resource(services: Services, resource_id: str) -> ResourceSettings:
    async with UnitOfWork(services.engine) as uow:
        settings = await uow.resources.get(check_resource_id(resource_id))
    if settings is None:
        raise Refusal(Error.NOT_FOUND, f"the resource {resource_id} is not configured")
    return settings
