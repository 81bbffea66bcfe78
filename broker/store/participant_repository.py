"""Registered participants: who they are, their certificate and what they can send and receive."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.domain.participants import Participant
from broker.domain.roles import Role
from broker.store.dialect_insert import conflict_insert
from broker.store.tables import participants


def _to_participant(row: sa.Row[Any]) -> Participant:
    return Participant(
        orgnr=row.orgnr,
        role=Role(row.role),
        name=row.name,
        certificate_pem=row.certificate_pem,
        sends=frozenset(row.sends),
        receives=frozenset(row.receives),
        active=bool(row.active),
    )


class ParticipantRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def upsert(self, participant: Participant) -> None:
        """Register the participant, or replace what is known of it; its registration time is kept."""
        now = datetime.now(UTC)
        values = {
            "role": participant.role.value,
            "name": participant.name,
            "certificate_pem": participant.certificate_pem,
            "sends": sorted(participant.sends),
            "receives": sorted(participant.receives),
            "active": participant.active,
            "updated_at": now,
        }
        statement = conflict_insert(self._connection, participants).values(
            orgnr=participant.orgnr, created_at=now, **values
        )
        await self._connection.execute(statement.on_conflict_do_update(index_elements=["orgnr"], set_=values))

    async def get(self, orgnr: str) -> Participant | None:
        result = await self._connection.execute(sa.select(participants).where(participants.c.orgnr == orgnr))
        row = result.first()
        return _to_participant(row) if row else None

    async def get_many(self, orgnrs: Iterable[str]) -> dict[str, Participant]:
        """The registered participants among ``orgnrs``, in one query (a group-commit batch names several)."""
        wanted = sorted(set(orgnrs))
        if not wanted:
            return {}
        result = await self._connection.execute(sa.select(participants).where(participants.c.orgnr.in_(wanted)))
        return {row.orgnr: _to_participant(row) for row in result}

    async def list(self) -> list[Participant]:
        result = await self._connection.execute(sa.select(participants).order_by(participants.c.orgnr))
        return [_to_participant(row) for row in result]

    async def set_active(self, orgnr: str, active: bool) -> bool:
        """Enable or disable a participant; False when no such participant is registered."""
        result = await self._connection.execute(
            sa.update(participants)
            .where(participants.c.orgnr == orgnr)
            .values(active=active, updated_at=datetime.now(UTC))
        )
        return result.rowcount == 1
