"""The outbox as the relay works it: claim a batch under a lease, settle what was confirmed, back off
what was not, count what waits.

Rows are claimed with a lease in one short statement (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: a
conditional UPDATE on ``lease_until``), so several broker processes share one outbox without publishing a
row twice while its lease holds. A crash anywhere leaves the row unpublished; its lease expires and some
relay publishes it again: a duplicate at worst, which consumers drop by message id, never a loss. On
PostgreSQL every call is one statement on a kept autocommit connection (``KeptConnections``).

Rows for a disabled participant are held: not claimed, not counted as backlog, published in order once it is
enabled again. A broker operator disables a participant to stop its traffic for a while (a compromised key, a
lapsed agreement), not to lose it: senders are refused new messages to it at intake (``participant-inactive``),
and what was accepted before waits here rather than landing on a queue its own credentials still read. Every
routing key starts with the orgnr of the party it goes to (``<recipient>.<type>``, ``<party>.<status>``), nine
digits, so the hold is one indexed look-up per candidate row, the same on both databases.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.domain.lifecycle import MessageStatus
from broker.store.kept_connections import KeptConnections
from broker.store.outbox_kind import OutboxKind
from broker.store.outbox_repository import ClaimedRow, OutboxEntry, OutboxRepository
from broker.store.status_moves import RELAY_ACTOR, StatusMoves
from broker.store.tables import UTC_TIMESTAMP, messages, outbox, participants, status_history

_RESULT_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "headers": sa.JSON(),
    "body": sa.LargeBinary(),
    "content": sa.LargeBinary(),
    "recorded_at": UTC_TIMESTAMP,
    "created_at": UTC_TIMESTAMP,
}

# Claim: lease the oldest unleased rows nobody else holds, and read what publishing them needs, in one statement.
_PG_CLAIM = sa.text(
    """
    WITH candidates AS (
        SELECT id FROM outbox
        WHERE (lease_until IS NULL OR lease_until < :now)
          AND NOT EXISTS (
              SELECT 1 FROM participants AS p WHERE p.orgnr = substr(outbox.routing_key, 1, 9) AND NOT p.active
          )
        ORDER BY id LIMIT :limit FOR UPDATE OF outbox SKIP LOCKED
    ), claimed AS (
        UPDATE outbox AS o SET lease_until = :lease_until, leased_by = :owner, attempts = o.attempts + 1
        FROM candidates WHERE o.id = candidates.id
        RETURNING o.id, o.kind, o.message_id, o.routing_key, o.headers, o.body, o.attempts, o.created_at
    )
    SELECT claimed.*, m.content, m.sender, sp.active AS sender_active,
           CASE WHEN claimed.kind = :message_kind THEN (
               SELECT min(h.at) FROM status_history AS h
               WHERE h.message_id = claimed.message_id AND h.status = :published AND h.actor = :relay
                 AND h.at >= claimed.created_at
           ) END AS recorded_at
    FROM claimed LEFT JOIN messages AS m ON m.id = claimed.message_id
    LEFT JOIN participants AS sp ON sp.orgnr = m.sender
    ORDER BY claimed.id
    """
).columns(**_RESULT_TYPES)


# Not for a participant that is disabled (see above): no participant row, or an active one, lets a row go.
_NOT_HELD = ~sa.exists().where(
    participants.c.orgnr == sa.func.substr(outbox.c.routing_key, 1, 9), participants.c.active.is_(False)
)

# Built once: the group commit reads the backlog four times a second while submissions come (up to a hundred
# under load), and building the statement and its cache key each time cost as much as running it on SQLite.
_BACKLOG = sa.select(sa.func.count()).select_from(outbox).where(_NOT_HELD)

# SQLite's claim, built once: it runs at every poll of every relay (once a second when idle), and built anew
# each time it cost the statements and their cache keys too (with the webhooks' due query, also built once,
# an idle broker's CPU fell from 5.3 to 4.8 ms a second).
_SQLITE_PENDING = sa.and_(
    sa.or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < sa.bindparam("now", type_=UTC_TIMESTAMP)),
    _NOT_HELD,
)
_SQLITE_ANY_WAITING = sa.select(sa.exists().where(_SQLITE_PENDING))
_SQLITE_LEASE = (
    sa.update(outbox)
    .where(
        outbox.c.id.in_(
            sa.select(outbox.c.id)
            .where(_SQLITE_PENDING)
            .order_by(outbox.c.id)
            .limit(sa.bindparam("limit", type_=sa.Integer))
            .scalar_subquery()
        ),
        _SQLITE_PENDING,
    )
    .values(
        lease_until=sa.bindparam("lease_until", type_=UTC_TIMESTAMP),
        leased_by=sa.bindparam("owner", type_=sa.String),
        attempts=outbox.c.attempts + 1,
    )
    .returning(outbox.c.id)
)

_sender = participants.alias("sp")
_PUBLISHED = MessageStatus.PUBLISHED.value
# A message row's publish already recorded by a relay that stopped before it settled the row (see ``claim``):
# the relay's record dated at or after the row was written, so a console re-delivery's new row (its message
# published long before) is published. A relay clock behind the writer's by more than the time to the confirm
# only means the row is published again, as before the record existed.
_RECORDED_AT = (
    sa.select(sa.func.min(status_history.c.at))
    .where(
        status_history.c.message_id == outbox.c.message_id,
        status_history.c.status == _PUBLISHED,
        status_history.c.actor == RELAY_ACTOR,
        status_history.c.at >= outbox.c.created_at,
    )
    .scalar_subquery()
)


def _claimed(row: sa.Row[tuple[object, ...]]) -> ClaimedRow:
    values = row._mapping
    kind = OutboxKind(str(values["kind"]))
    is_message = kind is OutboxKind.MESSAGE
    body = values["content"] if is_message else values["body"]
    headers = values["headers"] or {}
    return ClaimedRow(
        outbox_id=int(values["id"]),
        kind=kind,
        message_id=str(values["message_id"]),
        routing_key=str(values["routing_key"]),
        headers={str(k): str(v) for k, v in dict(headers).items()},
        body=bytes(body) if body is not None else None,
        attempts=int(values["attempts"]),
        sender=str(values["sender"]) if is_message and values["sender"] is not None else None,
        sender_active=values["sender_active"] is not False,  # no registry row: nothing to hold it by
        published_at=values["recorded_at"] if is_message else None,
    )


def new_owner() -> str:
    """A name for one relay of one process, unique across restarts and machines."""
    return f"{os.getpid()}-{uuid.uuid4().hex[:20]}"


class OutboxQueue:
    """The relay's statements on the outbox; the dialect's choices stay in here."""

    def __init__(self, connections: KeptConnections, owner: str | None = None) -> None:
        self._connections = connections
        # Written into ``leased_by`` of every row this queue leases: the relay's heartbeat row names it too.
        self.owner = owner or new_owner()

    async def claim(self, limit: int, now: datetime, lease_until: datetime) -> list[ClaimedRow]:
        """Lease up to ``limit`` of the oldest rows waiting (unleased, or their lease run out) until ``lease_until``."""
        async with self._connections.transaction() as conn:
            if self._connections.autocommit:
                rows = await conn.execute(
                    _PG_CLAIM,
                    {
                        "now": now,
                        "limit": limit,
                        "lease_until": lease_until,
                        "owner": self.owner,
                        "message_kind": OutboxKind.MESSAGE.value,
                        "published": _PUBLISHED,
                        "relay": RELAY_ACTOR,
                    },
                )
                return [_claimed(row) for row in rows]
            # Nearly always nothing waits (the group commit hands its rows over): a read says so without a
            # write transaction, which would take the file's write lock in the way of the submissions.
            if not (await conn.execute(_SQLITE_ANY_WAITING, {"now": now})).scalar():
                return []
            result = await conn.execute(
                _SQLITE_LEASE,
                {"now": now, "limit": limit, "lease_until": lease_until, "owner": self.owner},
            )
            ids = [int(row.id) for row in result]
            return await self._load(conn, ids) if ids else []

    @staticmethod
    async def _load(conn: AsyncConnection, ids: Sequence[int]) -> list[ClaimedRow]:
        rows = await conn.execute(
            sa.select(
                outbox,
                messages.c.content,
                messages.c.sender,
                _sender.c.active.label("sender_active"),
                _RECORDED_AT.label("recorded_at"),
            )
            .select_from(
                outbox.outerjoin(messages, messages.c.id == outbox.c.message_id).outerjoin(
                    _sender, _sender.c.orgnr == messages.c.sender
                )
            )
            .where(outbox.c.id.in_(list(ids)))
            .order_by(outbox.c.id)
        )
        return [_claimed(row) for row in rows]

    async def record_published(self, confirmed_at: Mapping[str, datetime], now: datetime) -> None:
        """Record the messages RabbitMQ confirmed as ``published`` at the time of their confirm, and nothing
        else: written the moment the confirms arrive, so a relay that dies afterwards leaves rows whose
        publish is known (``ClaimedRow.published_at``) and that the next relay settles without publishing
        them again. Their outbox rows and receipts are settled after (``settle``)."""
        if confirmed_at:
            async with self._connections.transaction() as conn:
                await StatusMoves(conn).settle_published([], confirmed_at, now, frozenset())

    async def settle(
        self,
        done: Sequence[ClaimedRow],
        retry_at: Mapping[int, datetime],
        now: datetime,
        receipts: Sequence[OutboxEntry] = (),
        confirmed_at: Mapping[str, datetime] | None = None,
    ) -> None:
        """Record the ``done`` rows as published (at ``now``), their messages' publish being recorded already
        (``record_published``) or with them (``confirmed_at``: the time of each message's publish); the rows
        in ``retry_at`` wait until then (their lease becomes the back-off every relay respects). ``receipts``
        are enqueued first: the receipts the relay could not publish itself (a crash in between leaves the
        rows to be settled again, their receipts sent twice at worst)."""
        async with self._connections.transaction() as conn:
            if receipts:
                await OutboxRepository(conn).add_many(receipts)
            if done or confirmed_at:
                outbox_ids = [row.outbox_id for row in done]
                moves = StatusMoves(conn)
                await moves.settle_published(outbox_ids, confirmed_at or {}, now, frozenset(), then_commit=not retry_at)
            if retry_at:
                await conn.execute(
                    sa.update(outbox)
                    .where(outbox.c.id == sa.bindparam("outbox_id"))
                    .values(lease_until=sa.bindparam("retry_at", type_=outbox.c.lease_until.type)),
                    [{"outbox_id": outbox_id, "retry_at": when} for outbox_id, when in retry_at.items()],
                )

    async def release_lease(self, lease_until: datetime) -> int:
        """Release the unpublished rows this relay leased until exactly ``lease_until`` (one group commit's
        batch: each batch takes its own lease time), for any relay to claim now; how many were released."""
        async with self._connections.transaction() as conn:
            released = await conn.execute(
                sa.update(outbox)
                .where(
                    outbox.c.leased_by == self.owner,
                    outbox.c.lease_until == lease_until,
                )
                .values(lease_until=None, leased_by=None)
            )
            return int(released.rowcount or 0)

    async def backlog(self) -> int:
        """Outbox rows not yet published, held ones left out (for flow control, metrics and readiness): rows
        held for a disabled participant must not hold back everyone else's submissions.

        Flow control reads it up to 100 times a second under load: on PostgreSQL it takes a kept autocommit
        connection (one round trip) rather than a pooled one (a ping, BEGIN, the count and ROLLBACK)."""
        async with self._connections.transaction() as conn:
            return int(await conn.scalar(_BACKLOG) or 0)

    def open(self) -> None:
        self._connections.open()

    async def close(self) -> None:
        """Close the kept connections that are idle, and keep none until ``open``."""
        await self._connections.close()
