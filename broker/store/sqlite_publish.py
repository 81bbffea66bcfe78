"""The relay's record and settle on SQLite in one trip to the connection's thread.

``StatusMoves.settle_published`` on SQLite: the confirmed outbox rows deleted (published, they leave the
queue), and each confirmed message moved from ``accepted`` to ``published`` with its history row, dated at
its confirm (never before its last change). A message the move leaves alone (already beyond ``published``: a
recipient was quicker than the record) goes back to the caller, which records the overtaken step through
``StatusMoves``; so does any receipt owed. At low rates this step ran once or twice per message as three
statements through SQLAlchemy's async engine (see ``sqlite_prepared``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.domain.lifecycle import MessageStatus
from broker.store.sqlite_prepared import Prepared, bound, run_on_connection
from broker.store.sqlite_write_gate import WriteGate
from broker.store.tables import messages, outbox, status_history

_AT = sa.bindparam("at", type_=messages.c.status_changed_at.type)
_MOVE = Prepared.of(
    sa.update(messages)
    .where(
        messages.c.id == sa.bindparam("message_id", type_=messages.c.id.type),
        messages.c.status == sa.bindparam("from_status", type_=messages.c.status.type),
    )
    .values(
        status=sa.bindparam("to_status", type_=messages.c.status.type),
        status_changed_at=sa.case((messages.c.status_changed_at > _AT, messages.c.status_changed_at), else_=_AT),
    )
    .returning(messages.c.status_changed_at)
)
# The history row takes the time the update returned as stored (SQLite's text), so it needs no conversion.
_HISTORY = Prepared.of(
    sa.insert(status_history).values(
        {**bound(status_history, ("message_id", "status", "actor")), "at": sa.bindparam("stored_at", type_=sa.String())}
    )
)
_PUBLISHED = Prepared.of(sa.delete(outbox).where(outbox.c.id == sa.bindparam("outbox_id", type_=outbox.c.id.type)))


def _settle(
    connection: sqlite3.Connection,
    gate: WriteGate,
    outbox_ids: Sequence[int],
    confirmed_at: Mapping[str, datetime],
    actor: str,
) -> list[str]:
    """On the connection's thread, in the caller's transaction; the confirmed messages it did not move."""
    try:
        if outbox_ids:
            gate.before(connection, _PUBLISHED.sql)
            connection.executemany(_PUBLISHED.sql, [_PUBLISHED.parameters({"outbox_id": i}) for i in outbox_ids])
        left: list[str] = []
        published = MessageStatus.PUBLISHED.value
        for message_id, at in confirmed_at.items():
            gate.before(connection, _MOVE.sql)
            values = {"message_id": message_id, "from_status": MessageStatus.ACCEPTED.value, "to_status": published}
            row = connection.execute(_MOVE.sql, _MOVE.parameters({**values, "at": at})).fetchone()
            if row is None:
                left.append(message_id)
                continue
            entry = {"message_id": message_id, "status": published, "actor": actor, "stored_at": row[0]}
            connection.execute(_HISTORY.sql, _HISTORY.parameters(entry))
        return left
    finally:
        gate.after(connection)


async def settle_published_sqlite(
    connection: AsyncConnection,
    outbox_ids: Sequence[int],
    confirmed_at: Mapping[str, datetime],
    actor: str,
    *,
    then_commit: bool = False,
) -> list[str]:
    """Delete the published ``outbox_ids`` and move the ``confirmed_at`` messages to ``published``
    (by ``actor``); the ids of the messages not moved (beyond ``published`` already, or gone).

    With ``then_commit`` (the caller commits next, with nothing written between) the same trip commits
    when every message moved: no overtaken step is left for the caller to record first."""
    commit_if = _all_moved if then_commit else None
    return await run_on_connection(connection, _settle, outbox_ids, confirmed_at, actor, commit_if=commit_if)


def _all_moved(left: list[str]) -> bool:
    return not left
