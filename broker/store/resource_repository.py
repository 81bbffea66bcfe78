"""Resources (broker services such as ``kv_dsve``): their settings and their access lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.domain.file_transfers import ResourceAccess, ResourceSettings
from broker.store.dialect_insert import conflict_insert
from broker.store.tables import resource_access, resources


class ResourceRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, resource_id: str) -> ResourceSettings | None:
        """The settings and the access list, read in one statement (an outer join: one row per entry)."""
        query = (
            sa.select(
                resources,
                resource_access.c.orgnr.label("a_orgnr"),
                resource_access.c.can_send.label("a_can_send"),
                resource_access.c.can_receive.label("a_can_receive"),
            )
            .select_from(resources.outerjoin(resource_access, resource_access.c.resource_id == resources.c.resource_id))
            .where(resources.c.resource_id == resource_id)
            .order_by(resource_access.c.orgnr)
        )
        rows = (await self._connection.execute(query)).all()
        if not rows:
            return None
        row = rows[0]
        return ResourceSettings(
            resource_id=row.resource_id,
            max_file_transfer_size=row.max_file_transfer_size,
            time_to_live=timedelta(seconds=row.time_to_live_s),
            purge_after_all_confirmed=bool(row.purge_after_all_confirmed),
            purge_grace_period=timedelta(seconds=row.purge_grace_period_s),
            use_manifest_file_shim=bool(row.use_manifest_file_shim),
            schema_set=row.schema_set,
            access=tuple(
                ResourceAccess(a.a_orgnr, bool(a.a_can_send), bool(a.a_can_receive))
                for a in rows
                if a.a_orgnr is not None
            ),
        )

    async def put(self, settings: ResourceSettings, *, replace_access: bool) -> None:
        """Create or update the resource; its access list is replaced only with ``replace_access``."""
        values = {
            "max_file_transfer_size": settings.max_file_transfer_size,
            "time_to_live_s": int(settings.time_to_live.total_seconds()),
            "purge_after_all_confirmed": settings.purge_after_all_confirmed,
            "purge_grace_period_s": int(settings.purge_grace_period.total_seconds()),
            "use_manifest_file_shim": settings.use_manifest_file_shim,
            "schema_set": settings.schema_set,
            "updated_at": datetime.now(UTC),
        }
        statement = conflict_insert(self._connection, resources).values(resource_id=settings.resource_id, **values)
        await self._connection.execute(statement.on_conflict_do_update(index_elements=["resource_id"], set_=values))
        if not replace_access:
            return
        await self._connection.execute(
            sa.delete(resource_access).where(resource_access.c.resource_id == settings.resource_id)
        )
        if settings.access:
            await self._connection.execute(
                sa.insert(resource_access),
                [
                    {
                        "resource_id": settings.resource_id,
                        "orgnr": a.orgnr,
                        "can_send": a.send,
                        "can_receive": a.receive,
                    }
                    for a in settings.access
                ],
            )

    async def schema_set_of(self, resource_id: str) -> str | None:
        """The schema set a resource's payloads are checked against, or None (no payload checks)."""
        result = await self._connection.execute(
            sa.select(resources.c.schema_set).where(resources.c.resource_id == resource_id)
        )
        return result.scalar_one_or_none()
