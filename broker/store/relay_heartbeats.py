"""Which relays are alive, and taking over the leases of those that are not.

Every relay (one per broker process) beats once a second: an upsert of its row in ``relay_heartbeats``. The
outbox rows it claims name it in ``leased_by``. A relay whose last beat is older than ``dead_after_s`` has
died (killed, frozen, cut off from the database): its row is deleted and the rows it held are released
(``lease_until`` cleared), so the next claim of any relay takes them, within seconds instead of when the
30 s lease runs out. A relay that was only slow, not dead, beats again and goes on; what it had in hand may
then be published twice, which consumers already drop by message id.

On PostgreSQL the database's clock judges the beats, so processes on machines with different clocks agree.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.domain.clock import utc_now
from broker.store.tables import outbox, relay_heartbeats

BEAT_EVERY_S = 1.0
DEAD_AFTER_S = 3.0


class RelayHeartbeats:
    def __init__(self, engine: AsyncEngine, owner: str, *, dead_after_s: float = DEAD_AFTER_S) -> None:
        self.engine = engine
        self.owner = owner
        self.dead_after = timedelta(seconds=dead_after_s)
        self._postgres = engine.dialect.name == "postgresql"
        # The takeover's statements, built once (they run every second, busy or idle): on PostgreSQL the
        # database's clock judges the beats, on SQLite the time before which a beat is stale is bound per call.
        table = relay_heartbeats
        stale = (
            sa.func.now() - sa.text(f"interval '{self.dead_after.total_seconds():g} seconds'")
            if self._postgres
            else sa.bindparam("stale", type_=table.c.beat_at.type)
        )
        dead = sa.and_(table.c.beat_at < stale, table.c.owner != owner)
        orphaned = sa.and_(
            outbox.c.leased_by.is_not(None),
            outbox.c.leased_by != owner,
            outbox.c.leased_by.not_in(sa.select(table.c.owner)),
        )
        self._found = sa.select(sa.or_(sa.exists().where(dead), sa.exists().where(orphaned)).label("found"))
        self._forget_dead = sa.delete(table).where(dead)
        self._release_orphaned = sa.update(outbox).where(orphaned).values(lease_until=None, leased_by=None)

    def on(self, engine: AsyncEngine) -> RelayHeartbeats:
        """The same relay's heartbeats through another engine (a connection of its own, in another thread)."""
        return RelayHeartbeats(engine, self.owner, dead_after_s=self.dead_after.total_seconds())

    def _now(self) -> sa.ColumnElement[datetime]:
        if self._postgres:
            return sa.func.now()
        return sa.literal(utc_now(), relay_heartbeats.c.beat_at.type)

    async def beat(self) -> bool:
        """Say this relay is alive (refresh its row, or insert it); whether the row was still there (False
        after another relay took this one for dead and deleted it, and at the first beat)."""
        table = relay_heartbeats
        async with self.engine.begin() as conn:
            updated = await conn.execute(
                sa.update(table).where(table.c.owner == self.owner).values(beat_at=self._now())
            )
            if updated.rowcount == 0:
                await conn.execute(sa.insert(table).values(owner=self.owner, beat_at=self._now()))
                return False
            return True

    async def take_over_orphans(self) -> int:
        """Forget relays that stopped beating and release the rows they leased; how many rows were released."""
        params = {} if self._postgres else {"stale": utc_now() - self.dead_after}
        async with self.engine.connect() as conn:
            # Nearly always nobody died: a read says so without a write transaction each second (which on
            # SQLite took the file's write lock, in the way of the submissions).
            found = await conn.execute(self._found, params)
            if not found.scalar():
                return 0
        async with self.engine.begin() as conn:
            await conn.execute(self._forget_dead, params)
            released = await conn.execute(self._release_orphaned)
            return int(released.rowcount or 0)

    async def stop(self) -> None:
        """A relay that stops in order releases what it still holds and removes its row."""
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.update(outbox).where(outbox.c.leased_by == self.owner).values(lease_until=None, leased_by=None)
            )
            await conn.execute(sa.delete(relay_heartbeats).where(relay_heartbeats.c.owner == self.owner))
