"""Refusal counts add up per (minute, code) on both databases, sum over a window, and old minutes go."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from broker.domain.errors import Error
from broker.store.refusal_repository import RefusalRepository, RefusalTotal
from tests.store.conftest import T0

SCHEMA = Error.SCHEMA_INVALID.spec
TOKEN = Error.TOKEN_MISSING.spec


async def test_counts_add_to_what_is_stored(engine: AsyncEngine) -> None:
    for _ in range(2):  # two processes flushing the same minute and code
        async with engine.begin() as connection:
            await RefusalRepository(connection).add({(T0, Error.SCHEMA_INVALID): 3, (T0, Error.TOKEN_MISSING): 1})
    async with engine.begin() as connection:
        await RefusalRepository(connection).add({(T0 + timedelta(minutes=1), Error.TOKEN_MISSING): 5})
        totals = await RefusalRepository(connection).totals_since(T0)
    assert totals == [RefusalTotal(TOKEN.code, TOKEN.slug, 7), RefusalTotal(SCHEMA.code, SCHEMA.slug, 6)]


async def test_the_window_starts_at_the_minute_and_old_minutes_are_deleted(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        repository = RefusalRepository(connection)
        await repository.add({(T0 - timedelta(minutes=1), Error.NOT_FOUND): 2, (T0, Error.NOT_FOUND): 1})
        assert await repository.totals_since(T0 + timedelta(seconds=30)) == [
            RefusalTotal(Error.NOT_FOUND.spec.code, Error.NOT_FOUND.spec.slug, 1)
        ]
        assert await repository.delete_before(T0) == 1
        assert [total.count for total in await repository.totals_since(T0 - timedelta(days=1))] == [1]
        await repository.add({})  # nothing to add writes nothing
