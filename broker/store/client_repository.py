"""Registered Maskinporten-style clients, looked up by the key id their grants name."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.auth.clients import RegisteredClient
from broker.store.dialect_insert import conflict_insert
from broker.store.tables import maskinporten_clients


class ClientRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def by_kid(self, kid: str) -> RegisteredClient | None:
        result = await self._connection.execute(
            sa.select(maskinporten_clients).where(maskinporten_clients.c.kid == kid)
        )
        row = result.first()
        return RegisteredClient(row.client_id, row.orgnr, row.kid, row.public_key_pem) if row else None

    async def register(self, client: RegisteredClient) -> None:
        values = {"orgnr": client.orgnr, "kid": client.kid, "public_key_pem": client.public_key_pem}
        statement = conflict_insert(self._connection, maskinporten_clients).values(
            client_id=client.client_id, created_at=datetime.now(UTC), **values
        )
        await self._connection.execute(statement.on_conflict_do_update(index_elements=["client_id"], set_=values))
