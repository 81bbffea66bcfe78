"""``MessageRepository.add_new`` on SQLite in one trip to the connection's thread.

The same steps as the statements it replaces (look up the batch's (sender, message id) pairs, insert the
new messages numbered from ``max(seq) + 1``, their first history entries and their outbox rows, leased or
not), written with ``sqlite_prepared`` so a lone submission's store costs one hand-off instead of five
statements through SQLAlchemy's async engine. PostgreSQL has its own single statement
(``message_repository._PG_INSERT_BATCH``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.store.outbox_repository import outbox_rows
from broker.store.registry_version import read_counter
from broker.store.sqlite_prepared import Prepared, bound, run_on_connection
from broker.store.sqlite_write_gate import WriteGate
from broker.store.tables import MESSAGE_COLUMNS, messages, outbox, status_history

# Every column a new message names: all but its number, which the insert takes itself (and the passes' two,
# NULL while the message is open).
_NEW_MESSAGE = tuple(column.name for column in MESSAGE_COLUMNS if column.name != "seq")
_OUTBOX_COLUMNS = (
    "kind", "message_id", "routing_key", "headers", "body", "created_at", "attempts", "lease_until", "leased_by",
)  # fmt: skip

_STORED = Prepared.of(
    sa.select(messages.c.id).where(
        messages.c.sender == sa.bindparam("sender", type_=messages.c.sender.type),
        messages.c.message_id == sa.bindparam("message_id", type_=messages.c.message_id.type),
    )
)
# The first insert numbers itself in the statement, which takes SQLite's write lock: the numbers after it are
# this transaction's alone until it commits, also against other processes (the unique index backs this up).
_FIRST = Prepared.of(
    sa.insert(messages)
    .values(
        {
            **bound(messages, _NEW_MESSAGE),
            "seq": sa.select(sa.func.coalesce(sa.func.max(messages.c.seq), 0) + 1).scalar_subquery(),
        }
    )
    .returning(messages.c.seq)
)
_MESSAGE = Prepared.of(sa.insert(messages).values({**bound(messages, _NEW_MESSAGE), **bound(messages, ("seq",))}))
_HISTORY = Prepared.of(sa.insert(status_history).values(bound(status_history, ("message_id", "status", "actor", "at"))))
_OUTBOX = Prepared.of(sa.insert(outbox).values(bound(outbox, _OUTBOX_COLUMNS)).returning(outbox.c.id))


@dataclass(frozen=True, slots=True)
class Written:
    """What the trip wrote: each new message's number, and each outbox row's id in the order given."""

    seqs: dict[str, int]  # broker id → seq
    outbox_ids: list[int]
    skipped: int = 0  # how many of the rows given were stored already
    # The registry's change counter was not the one the caller's cached answers stand for: nothing is
    # written that the caller may commit (it rolls back, reads the registry again and stores again).
    registry_moved: bool = False

    def all_new(self) -> bool:
        """Every row given was new and stored: the caller has nothing left to look up, and commits next."""
        return self.skipped == 0 and not self.registry_moved


_MOVED = Written({}, [], 0, registry_moved=True)


def _moved(connection: sqlite3.Connection, registry_version: int | None) -> bool:
    return registry_version is not None and read_counter(connection) != registry_version


def _write(
    connection: sqlite3.Connection,
    gate: WriteGate,
    rows: Sequence[dict[str, Any]],
    outbox_values: Sequence[dict[str, Any]],
    registry_version: int | None,
) -> Written:
    """On the connection's thread, in the caller's transaction: the messages not stored yet, their history
    and the outbox rows of those (``outbox_values`` of skipped messages are left out).

    With ``registry_version`` the registry's change counter is read too, after the first write has taken
    SQLite's write lock (so no other connection can commit a change before this transaction does), and
    nothing more is written when it differs: the registry the caller checked the parties against is then
    not the one this transaction would commit against."""
    try:
        fresh = [row for row in rows if connection.execute(_STORED.sql, _STORED.parameters(row)).fetchone() is None]
        if not fresh:
            return _MOVED if _moved(connection, registry_version) else Written({}, [], len(rows))
        gate.before(connection, _FIRST.sql)  # the first write: this process's writers queue here
        (start,) = connection.execute(_FIRST.sql, _FIRST.parameters(fresh[0])).fetchone()
        if _moved(connection, registry_version):
            return _MOVED
        seqs = {row["id"]: start + offset for offset, row in enumerate(fresh)}
        if len(fresh) > 1:
            rest = [_MESSAGE.parameters({**row, "seq": seqs[row["id"]]}) for row in fresh[1:]]
            connection.executemany(_MESSAGE.sql, rest)
        history = [
            {"message_id": row["id"], "status": row["status"], "actor": row["sender"], "at": row["accepted_at"]}
            for row in fresh
        ]
        connection.executemany(_HISTORY.sql, [_HISTORY.parameters(entry) for entry in history])
        ids = [
            int(connection.execute(_OUTBOX.sql, _OUTBOX.parameters(values)).fetchone()[0])
            for values in outbox_values
            if values["message_id"] in seqs
        ]
        return Written(seqs, ids, len(rows) - len(fresh))
    finally:
        gate.after(connection)


async def add_new_sqlite(
    connection: AsyncConnection,
    rows: Sequence[dict[str, Any]],
    entries: Sequence[Any],
    lease_until: datetime | None,
    leased_by: str | None,
    *,
    then_commit: bool = False,
    registry_version: int | None = None,
) -> Written:
    """Store the new ones among ``rows`` (the messages' column values) with their first history entries and
    the outbox ``entries`` that announce them, leased to ``leased_by`` until ``lease_until`` when given.

    With ``then_commit`` the same trip commits when every row was new (nothing is left for the caller to
    look up before its commit, which then costs nothing): a lone submission's store is one trip, not two.
    With ``registry_version`` the trip confirms that the registry has not changed since (``_write``)."""
    leased = lease_until is not None and leased_by is not None
    values = [
        {**row, "lease_until": lease_until if leased else None, "leased_by": leased_by if leased else None}
        | ({"attempts": 1} if leased else {})
        for row in outbox_rows(entries)
    ]
    return await run_on_connection(
        connection, _write, rows, values, registry_version, commit_if=Written.all_new if then_commit else None
    )
