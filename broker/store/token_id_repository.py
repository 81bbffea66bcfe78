"""Token ids (``jti``) already used: a token grant is accepted once, even across broker processes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.store.dialect_insert import conflict_insert
from broker.store.tables import used_token_ids


class TokenIdRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def use_once(self, jti: str, issuer: str, expires_at: datetime) -> bool:
        """Record ``jti``; False when it was recorded before.

        The primary key decides, not a prior read: of two concurrent grants with one ``jti``, the database
        lets exactly one insert through (the other waits for its commit, then finds the conflict).
        The caller must commit for the use to count.
        """
        statement = (
            conflict_insert(self._connection, used_token_ids)
            .values(jti=jti, issuer=issuer, expires_at=expires_at)
            .on_conflict_do_nothing(index_elements=["jti"])
            .returning(used_token_ids.c.jti)
        )
        result = await self._connection.execute(statement)
        return result.first() is not None

    async def delete_expired(self, now: datetime) -> int:
        """Forget ids whose tokens have expired: such a token is refused for its age anyway."""
        result = await self._connection.execute(sa.delete(used_token_ids).where(used_token_ids.c.expires_at < now))
        return result.rowcount
