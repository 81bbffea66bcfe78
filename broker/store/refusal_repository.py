"""Refusal counts per (UTC minute, error code): added to by every broker process, read by the console.

Counts are added with ``INSERT ... ON CONFLICT DO UPDATE SET count = count + excluded.count``, so two
processes flushing the same minute and code add up instead of overwriting each other, on SQLite and on
PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.domain.errors import Error
from broker.store.dialect_insert import conflict_insert
from broker.store.tables import refusal_counts


@dataclass(frozen=True, slots=True)
class RefusalTotal:
    code: str
    slug: str
    count: int


class RefusalRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, counts: Mapping[tuple[datetime, Error], int]) -> None:
        """Add ``counts`` (keyed by minute and error) in one statement; the caller commits."""
        rows = [
            {"bucket": bucket, "code": error.spec.code, "slug": error.spec.slug, "count": count}
            for (bucket, error), count in sorted(counts.items(), key=lambda item: (item[0][0], item[0][1].spec.code))
            if count > 0
        ]
        if not rows:
            return
        # Sorted rows take their row locks in one order, so two processes flushing at once cannot deadlock.
        insert = conflict_insert(self._connection, refusal_counts)
        statement = insert.values(rows).on_conflict_do_update(
            index_elements=["bucket", "code"],
            set_={"count": refusal_counts.c["count"] + insert.excluded["count"], "slug": insert.excluded["slug"]},
        )
        await self._connection.execute(statement)

    async def totals_since(self, start: datetime) -> list[RefusalTotal]:
        """Refusals per code from the minute holding ``start`` on, most frequent first."""
        total = sa.func.sum(refusal_counts.c["count"]).label("total")
        query = (
            sa.select(refusal_counts.c.code, sa.func.max(refusal_counts.c.slug), total)
            .where(refusal_counts.c.bucket >= start.replace(second=0, microsecond=0))
            .group_by(refusal_counts.c.code)
            .order_by(total.desc(), refusal_counts.c.code)
        )
        result = await self._connection.execute(query)
        return [RefusalTotal(code, slug, int(count)) for code, slug, count in result]

    async def delete_before(self, cutoff: datetime) -> int:
        """Forget minutes older than ``cutoff``: the table stays as small as what anyone looks at."""
        result = await self._connection.execute(sa.delete(refusal_counts).where(refusal_counts.c.bucket < cutoff))
        return result.rowcount
