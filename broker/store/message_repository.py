"""Stored messages: insert, scoped reads and listings paged on ``seq`` (status moves: ``status_moves``).

Reads are scoped here, not in the callers: a participant only ever sees messages it sent or received, and
a message it may not see looks exactly like one that does not exist. Inserts are plain Core statements
(no ORM identity map), so a batch of messages costs one or two round trips.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.domain.lifecycle import MessageStatus
from broker.domain.messages import StoredMessage
from broker.json_text import json_str
from broker.store.history_repository import HistoryRepository
from broker.store.outbox_kind import OutboxKind
from broker.store.outbox_repository import ClaimedRow, OutboxEntry
from broker.store.registry_version import RegistryMoved
from broker.store.sqlite_add_new import add_new_sqlite
from broker.store.tables import MESSAGE_COLUMNS, MESSAGE_COLUMNS_WITHOUT_CONTENT, messages

Box = Literal["inbox", "outbox"]
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


# A group-commit batch on PostgreSQL in one statement: the messages, their first history entries and their
# outbox rows, from one array per column. One round trip instead of three, one plan whatever the batch size,
# and (run in autocommit) no BEGIN and COMMIT round trips either: the statement is its own transaction.
# The history rows reference the messages inserted beside them; foreign keys are checked at statement end.
# A message whose (sender, message id) is already stored is skipped with its history and outbox rows; the
# caller finds it missing from the answer and looks up the stored one (a repeat or a conflict).
# With ``lease_until`` the outbox rows are written already leased to the caller's relay, which publishes them
# from memory (``ClaimedRow``) instead of claiming them back; if it never does, the lease runs out and any
# relay claims them.
_PG_INSERT_BATCH = sa.text(
    """
    WITH inserted AS (
        INSERT INTO messages (id, message_type, message_id, sender, recipient, sender_reference,
                              recipient_reference, document_created, signer_subject, size, sha256, content,
                              status, accepted_at, expires_at, status_changed_at)
        SELECT * FROM unnest(
            CAST(:id AS VARCHAR[]), CAST(:message_type AS VARCHAR[]), CAST(:message_id AS VARCHAR[]),
            CAST(:sender AS VARCHAR[]), CAST(:recipient AS VARCHAR[]), CAST(:sender_reference AS VARCHAR[]),
            CAST(:recipient_reference AS VARCHAR[]), CAST(:document_created AS TIMESTAMPTZ[]),
            CAST(:signer_subject AS VARCHAR[]), CAST(:size AS INTEGER[]), CAST(:sha256 AS VARCHAR[]),
            CAST(:content AS BYTEA[]), CAST(:status AS VARCHAR[]), CAST(:accepted_at AS TIMESTAMPTZ[]),
            CAST(:expires_at AS TIMESTAMPTZ[]), CAST(:status_changed_at AS TIMESTAMPTZ[]))
        ON CONFLICT (sender, message_id) DO NOTHING
        RETURNING id, seq, status, accepted_at, sender
    ), history AS (
        INSERT INTO status_history (message_id, status, at, actor, detail)
        SELECT id, status, accepted_at, sender, NULL FROM inserted ORDER BY seq
    ), queued AS (
        INSERT INTO outbox (kind, message_id, routing_key, headers, body, created_at, attempts, lease_until,
                            leased_by)
        SELECT kind, message_id, routing_key, headers, body, CAST(:now AS TIMESTAMPTZ),
               CAST(:attempts AS INTEGER), CAST(:lease_until AS TIMESTAMPTZ), CAST(:leased_by AS VARCHAR)
        FROM unnest(CAST(:o_kind AS VARCHAR[]), CAST(:o_message_id AS VARCHAR[]), CAST(:o_routing_key AS VARCHAR[]),
                    CAST(:o_headers AS JSON[]), CAST(:o_body AS BYTEA[]))
             WITH ORDINALITY AS o(kind, message_id, routing_key, headers, body, n)
        WHERE o.message_id IN (SELECT id FROM inserted)
        ORDER BY n
        RETURNING id, message_id, kind
    )
    SELECT CAST('message' AS VARCHAR) AS what, id AS message_id, seq AS number, CAST(NULL AS VARCHAR) AS kind
    FROM inserted
    UNION ALL
    SELECT CAST('outbox' AS VARCHAR), message_id, id, kind FROM queued
    """
).columns(what=sa.String(), message_id=sa.String(), number=sa.BigInteger(), kind=sa.String())
_COLUMNS = (
    "id", "message_type", "message_id", "sender", "recipient", "sender_reference", "recipient_reference",
    "document_created", "signer_subject", "size", "sha256", "content", "status", "accepted_at", "expires_at",
    "status_changed_at",
)  # fmt: skip

# SQLite's first insert of a batch, numbered in the statement (see ``_insert_sqlite``): built once, so each
# insert reuses its compiled form without walking a new statement's seventeen values to find it in the cache.
_SQLITE_INSERT_FIRST = (
    sa.insert(messages)
    .values(
        {
            **{column: sa.bindparam(f"v_{column}", type_=messages.c[column].type) for column in _COLUMNS},
            "seq": sa.select(sa.func.coalesce(sa.func.max(messages.c.seq), 0) + 1).scalar_subquery(),
        }
    )
    .returning(messages.c.seq)
)


def _to_message(row: sa.Row[Any]) -> StoredMessage:
    values = row._asdict()
    values.setdefault("content", None)
    values["status"] = MessageStatus(values["status"])
    return StoredMessage(**values)


def _insert_values(message: StoredMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "message_type": message.message_type,
        "message_id": message.message_id,
        "sender": message.sender,
        "recipient": message.recipient,
        "sender_reference": message.sender_reference,
        "recipient_reference": message.recipient_reference,
        "document_created": message.document_created,
        "signer_subject": message.signer_subject,
        "size": message.size,
        "sha256": message.sha256,
        "content": message.content,
        "status": message.status.value,
        "accepted_at": message.accepted_at,
        "expires_at": message.expires_at,
        "status_changed_at": message.status_changed_at,
    }


@dataclass(frozen=True, slots=True)
class AddedMessages:
    """What ``add_new`` did with a batch: the messages stored (with their ``seq``), the outbox rows written
    leased to the caller's relay, and the messages skipped because their (sender, message id) was stored."""

    stored: list[StoredMessage]
    leased: list[ClaimedRow]
    skipped: list[StoredMessage]


def _visible_to(orgnr: str) -> sa.ColumnElement[bool]:
    return sa.or_(messages.c.sender == orgnr, messages.c.recipient == orgnr)


class MessageRepository:
    def __init__(self, connection: AsyncConnection, history: HistoryRepository) -> None:
        self._connection = connection
        self._history = history
        self._sqlite = connection.dialect.name == "sqlite"

    async def add(self, message: StoredMessage) -> StoredMessage:
        """Store one message and its first history entry; returns it with the ``seq`` the database gave it."""
        (stored,) = await self.add_many([message])
        return stored

    async def add_many(self, batch: Sequence[StoredMessage]) -> list[StoredMessage]:
        """Store several messages in this transaction, each with its first history entry; a (sender, message
        id) already stored fails the transaction. The first history entry names the sender as actor: the
        sender's submission is what put it there."""
        if not batch:
            return []
        rows = [_insert_values(message) for message in batch]
        if self._sqlite:
            seqs = await self._insert_sqlite(rows)
        else:
            result = await self._connection.execute(
                sa.insert(messages).returning(messages.c.seq, sort_by_parameter_order=True), rows
            )
            seqs = list(result.scalars())
        await self._history.append_many((m.id, m.status, m.sender, None, m.accepted_at) for m in batch)
        return [message.stored_as(seq) for message, seq in zip(batch, seqs, strict=True)]

    async def add_new(
        self,
        batch: Sequence[StoredMessage],
        outbox: Sequence[OutboxEntry],
        *,
        lease_until: datetime | None = None,
        leased_by: str | None = None,
        then_commit: bool = False,
        registry_version: int | None = None,
    ) -> AddedMessages:
        """Store the messages of ``batch`` whose (sender, message id) is not stored yet, with their first
        history entries and the ``outbox`` rows that announce them; report the others as skipped.

        With ``lease_until`` the outbox rows are written leased until then to the caller's relay and returned,
        to be published from memory (no claim: at low rates a claim was a transaction per message of its own).
        On PostgreSQL this is one statement (``ON CONFLICT DO NOTHING``); on SQLite the stored ids are looked
        up first. ``then_commit`` tells that the caller commits next, with nothing written between: on SQLite
        the store's own trip then commits when every message was new (``add_new_sqlite``).

        ``registry_version`` (SQLite): the registry's change counter the caller's cached answers stand for.
        The trip confirms it under the write lock; when it has moved nothing is stored and ``RegistryMoved``
        is raised, for the caller to roll back and store again against the registry as it is now.
        """
        if not batch:
            return AddedMessages([], [], [])
        if not self._sqlite:
            rows = [_insert_values(message) for message in batch]
            stored, leased = await self._insert_batch_postgres(batch, rows, outbox, lease_until, leased_by)
        else:
            written = await add_new_sqlite(
                self._connection,
                [_insert_values(m) for m in batch],
                outbox,
                lease_until,
                leased_by,
                then_commit=then_commit,
                registry_version=registry_version,
            )
            if written.registry_moved:
                raise RegistryMoved
            stored = [m.stored_as(written.seqs[m.id]) for m in batch if m.id in written.seqs]
            by_id = {m.id: m for m in stored}
            entries = [e for e in outbox if e.message_id in by_id]
            leased = (
                [ClaimedRow.leased(i, e, by_id[e.message_id]) for i, e in zip(written.outbox_ids, entries, strict=True)]
                if lease_until is not None and leased_by is not None
                else []
            )
        inserted = {m.id for m in stored}
        return AddedMessages(stored, leased, [m for m in batch if m.id not in inserted])

    async def _insert_batch_postgres(
        self,
        batch: Sequence[StoredMessage],
        rows: list[dict[str, Any]],
        outbox: Sequence[OutboxEntry],
        lease_until: datetime | None,
        leased_by: str | None,
    ) -> tuple[list[StoredMessage], list[ClaimedRow]]:
        params: dict[str, Any] = {column: [row[column] for row in rows] for column in _COLUMNS}
        params.update(
            now=datetime.now(UTC),
            o_kind=[OutboxKind(e.kind).value for e in outbox],
            o_message_id=[e.message_id for e in outbox],
            o_routing_key=[e.routing_key for e in outbox],
            o_headers=[json_str(dict(e.headers)) for e in outbox],
            o_body=[e.body for e in outbox],
        )
        params.update(
            lease_until=lease_until,
            leased_by=leased_by if lease_until is not None else None,
            attempts=1 if lease_until is not None else 0,
        )
        result = await self._connection.execute(_PG_INSERT_BATCH, params)
        seqs: dict[str, int] = {}
        outbox_ids: dict[tuple[str, str], int] = {}
        for row in result:
            if row.what == "message":
                seqs[row.message_id] = row.number
            else:
                outbox_ids[(row.message_id, row.kind)] = row.number
        stored = [message.stored_as(seqs[message.id]) for message in batch if message.id in seqs]
        if lease_until is None:
            return stored, []
        by_id = {message.id: message for message in stored}
        leased = [
            ClaimedRow.leased(outbox_ids[(e.message_id, e.kind)], e, by_id[e.message_id])
            for e in outbox
            if e.message_id in by_id
        ]
        return stored, leased

    async def _insert_sqlite(self, rows: list[dict[str, Any]]) -> list[int]:
        """SQLite has no sequences: the first insert takes ``max(seq) + 1`` in the statement itself.

        That insert also takes SQLite's single write lock for the rest of the transaction, so the numbers
        after it are this transaction's alone until it commits; the unique index on ``seq`` backs this up.
        """
        first = await self._connection.execute(_SQLITE_INSERT_FIRST, {f"v_{k}": v for k, v in rows[0].items()})
        start = first.scalar_one()
        rest = [dict(row, seq=start + offset) for offset, row in enumerate(rows[1:], start=1)]
        if rest:
            await self._connection.execute(sa.insert(messages), rest)
        return [start + offset for offset in range(len(rows))]

    async def get(self, id: str, *, with_content: bool = True) -> StoredMessage | None:
        """A message by broker id, whoever it belongs to: for the broker's own work, never for a caller."""
        return await self._first(messages.c.id == id, with_content=with_content)

    async def get_visible(self, id: str, orgnr: str, *, with_content: bool = True) -> StoredMessage | None:
        """A message by broker id when ``orgnr`` sent or received it; None otherwise, as if it did not exist."""
        return await self._first(messages.c.id == id, _visible_to(orgnr), with_content=with_content)

    async def find_by_sender_message_id(
        self, sender: str, message_id: str, *, with_content: bool = False
    ) -> StoredMessage | None:
        """The message a sender already sent with this id: a repeat is answered with it, not stored twice."""
        return await self._first(
            messages.c.sender == sender, messages.c.message_id == message_id, with_content=with_content
        )

    async def find_many_by_sender_message_ids(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], StoredMessage]:
        """The stored messages among ``keys`` (sender, message id), without content: one query for a batch."""
        if not keys:
            return {}
        # One (sender, message id) pair per probe of the unique index: two separate IN lists let the planner
        # take every message of the batch's few senders and filter (14 ms for an empty answer, measured).
        wanted = sorted(set(keys))
        result = await self._connection.execute(
            sa.select(*MESSAGE_COLUMNS_WITHOUT_CONTENT).where(
                sa.tuple_(messages.c.sender, messages.c.message_id).in_(wanted)
            )
        )
        found = (_to_message(row) for row in result)
        return {(m.sender, m.message_id): m for m in found}

    async def _first(self, *conditions: sa.ColumnElement[bool], with_content: bool) -> StoredMessage | None:
        columns = MESSAGE_COLUMNS if with_content else MESSAGE_COLUMNS_WITHOUT_CONTENT
        result = await self._connection.execute(sa.select(*columns).where(*conditions))
        row = result.first()
        return _to_message(row) if row else None

    async def list_for(
        self,
        orgnr: str,
        box: Box,
        *,
        status: MessageStatus | None = None,
        message_type: str | None = None,
        reference: str | None = None,
        since: datetime | None = None,
        after_seq: int | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> list[StoredMessage]:
        """One page of a participant's inbox or outbox in ``seq`` order, without content.

        The next page starts ``after_seq`` = the last ``seq`` of this one: unlike an offset, that cursor
        neither skips nor repeats a message when new ones arrive in between.
        """
        if box == "inbox":
            conditions = [messages.c.recipient == orgnr]
        elif box == "outbox":
            conditions = [messages.c.sender == orgnr]
        else:
            raise ValueError(f"box must be 'inbox' or 'outbox', not {box!r}")
        if status is not None:
            conditions.append(messages.c.status == MessageStatus(status).value)
        if message_type is not None:
            conditions.append(messages.c.message_type == message_type)
        if reference is not None:
            conditions.append(
                sa.or_(messages.c.sender_reference == reference, messages.c.recipient_reference == reference)
            )
        if since is not None:
            conditions.append(messages.c.accepted_at >= since)
        if after_seq is not None:
            conditions.append(messages.c.seq > after_seq)
        limit = max(1, min(limit, MAX_LIMIT))
        result = await self._connection.execute(
            sa.select(*MESSAGE_COLUMNS_WITHOUT_CONTENT).where(*conditions).order_by(messages.c.seq).limit(limit)
        )
        return [_to_message(row) for row in result]

    async def case_messages(self, reference: str, orgnr: str, *, limit: int = MAX_LIMIT) -> list[StoredMessage]:
        """Every message of one case that ``orgnr`` may see, in order, without content.

        A case is found by reference on either side: a reply carries the request's sender reference as its
        recipient reference, so both directions of a conversation come back together.
        """
        result = await self._connection.execute(
            sa.select(*MESSAGE_COLUMNS_WITHOUT_CONTENT)
            .where(
                sa.or_(messages.c.sender_reference == reference, messages.c.recipient_reference == reference),
                _visible_to(orgnr),
            )
            .order_by(messages.c.seq)
            .limit(limit)
        )
        return [_to_message(row) for row in result]
