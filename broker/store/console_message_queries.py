"""Read models for the console: aggregates, searches and case closures over the message store.

Every query takes a scope: ``None`` for an operator (the whole broker), or an orgnr for a participant's
staff, who see exactly what the API would show that organisation: messages it sent or received. A
message outside the scope is never counted, listed or returned, so a page can answer "not found" for it.
Content is never read here except by ``message``; listings stay cheap with 10,000s of messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.domain.lifecycle import MessageStatus
from broker.domain.messages import HistoryEntry, StoredMessage
from broker.store.history_repository import HISTORY_ORDER
from broker.store.tables import (
    MESSAGE_COLUMNS,
    MESSAGE_COLUMNS_WITHOUT_CONTENT,
    console_property_units,
    messages,
    outbox,
    status_history,
)

LIST_LIMIT = 200
CASE_LIMIT = 500
CASE_ROUNDS = 6


CaseNode = tuple[str, str]  # (orgnr, that organisation's reference)


def _message(row: sa.Row[Any]) -> StoredMessage:
    values = row._asdict()
    values.setdefault("content", None)
    values["status"] = MessageStatus(values["status"])
    return StoredMessage(**values)


def case_nodes(message: StoredMessage) -> list[CaseNode]:
    """The references a message ties together, each owned by the party that issued it."""
    nodes = [(message.sender, message.sender_reference)]
    if message.recipient_reference:
        nodes.append((message.recipient, message.recipient_reference))
    return nodes


class ConsoleMessageQueries:
    def __init__(self, connection: AsyncConnection, scope: str | None) -> None:
        self._connection = connection
        self._scope = scope

    def _visible(self) -> list[sa.ColumnElement[bool]]:
        if self._scope is None:
            return []
        return [sa.or_(messages.c.sender == self._scope, messages.c.recipient == self._scope)]

    async def _messages(
        self, *conditions: sa.ColumnElement[bool], limit: int = LIST_LIMIT, newest_first: bool = False
    ) -> list[StoredMessage]:
        order = messages.c.seq.desc() if newest_first else messages.c.seq
        result = await self._connection.execute(
            sa.select(*MESSAGE_COLUMNS_WITHOUT_CONTENT)
            .where(*conditions, *self._visible())
            .order_by(order)
            .limit(limit)
        )
        return [_message(row) for row in result]

    async def counts(self) -> tuple[dict[str, int], list[tuple[str, int]]]:
        """Messages per status and per type (most first), from one grouped scan."""
        result = await self._connection.execute(
            sa.select(messages.c.status, messages.c.message_type, sa.func.count())
            .where(*self._visible())
            .group_by(messages.c.status, messages.c.message_type)
        )
        by_status: dict[str, int] = {}
        by_type: dict[str, int] = {}
        for status, message_type, count in result:
            by_status[status] = by_status.get(status, 0) + count
            by_type[message_type] = by_type.get(message_type, 0) + count
        return by_status, sorted(by_type.items(), key=lambda item: (-item[1], item[0]))

    async def relay_backlog(self) -> int:
        """Outbox rows (messages and receipts) not yet published; for a participant, those about its messages."""
        query = sa.select(sa.func.count()).select_from(outbox)
        if self._scope is not None:
            query = query.join(messages, messages.c.id == outbox.c.message_id).where(*self._visible())
        return int((await self._connection.execute(query)).scalar_one())

    async def throughput(self, now: datetime, buckets: int, width: timedelta) -> list[int]:
        """Messages accepted per time bucket, oldest first, ending at ``now``: one query, one pass."""
        starts = [now - width * (buckets - i) for i in range(buckets + 1)]
        columns = [
            sa.func.coalesce(
                sa.func.sum(
                    sa.case((sa.and_(messages.c.accepted_at >= start, messages.c.accepted_at < end), 1), else_=0)
                ),
                0,
            )
            for start, end in pairwise(starts)
        ]
        result = await self._connection.execute(
            sa.select(*columns).where(messages.c.accepted_at >= starts[0], *self._visible())
        )
        return [int(value) for value in result.one()]

    async def dead_letters(self, limit: int = LIST_LIMIT) -> list[StoredMessage]:
        return await self._messages(messages.c.dead_lettered_at.is_not(None), limit=limit, newest_first=True)

    async def by_reference(self, reference: str) -> list[StoredMessage]:
        return await self._messages(
            sa.or_(messages.c.sender_reference == reference, messages.c.recipient_reference == reference)
        )

    async def by_orgnr(self, orgnr: str) -> list[StoredMessage]:
        return await self._messages(
            sa.or_(messages.c.sender == orgnr, messages.c.recipient == orgnr), newest_first=True
        )

    async def naming_property_unit(
        self, unit: str, festenummer: int | None = None, seksjonsnummer: int | None = None
    ) -> list[StoredMessage]:
        """Messages whose content names the matrikkelenhet ``kommunenr-gnr-bnr`` (optionally fnr and snr)."""
        match = [console_property_units.c.unit == unit]
        if festenummer is not None:
            match.append(console_property_units.c.festenummer == festenummer)
        if seksjonsnummer is not None:
            match.append(console_property_units.c.seksjonsnummer == seksjonsnummer)
        named = sa.select(console_property_units.c.message_id).where(*match)
        return await self._messages(messages.c.id.in_(named))

    async def case(self, start: Iterable[CaseNode] = (), reference: str | None = None) -> list[StoredMessage]:
        """Every message of a case, in order: the closure over references from ``start`` (or any party's
        ``reference``). A reply carries the request's reference as its recipient reference, so following
        (party, reference) pairs walks from the bank's loan case to the megler's settlement and on to
        Kartverket's submission without merging two parties' cases that happen to reuse a reference."""
        found: dict[str, StoredMessage] = {}
        if reference is not None:
            for message in await self.by_reference(reference):
                found[message.id] = message
        nodes = set(start) | {node for m in found.values() for node in case_nodes(m) if node[1] == reference}
        seen: set[CaseNode] = set()
        for _ in range(CASE_ROUNDS):
            frontier = nodes - seen
            if not frontier or len(found) >= CASE_LIMIT:
                break
            seen |= frontier
            for message in await self._messages(self._naming({ref for _, ref in frontier}), limit=CASE_LIMIT):
                if not frontier.isdisjoint(case_nodes(message)):
                    found.setdefault(message.id, message)
            nodes = {node for m in found.values() for node in case_nodes(m)}
        return sorted(found.values(), key=lambda m: m.seq or 0)[:CASE_LIMIT]

    @staticmethod
    def _naming(references: set[str]) -> sa.ColumnElement[bool]:
        # Two IN lists over the two indexed reference columns: both databases answer it from the indexes.
        # Which party owns each reference is checked on the rows that come back.
        ordered = sorted(references)
        return sa.or_(messages.c.sender_reference.in_(ordered), messages.c.recipient_reference.in_(ordered))

    async def message(self, id: str) -> StoredMessage | None:
        """One message with its content, if the scope may see it."""
        result = await self._connection.execute(
            sa.select(*MESSAGE_COLUMNS).where(messages.c.id == id, *self._visible())
        )
        row = result.first()
        return _message(row) if row else None

    async def histories(self, ids: Sequence[str]) -> dict[str, list[HistoryEntry]]:
        """The status histories of several messages in one query (callers pass ids already in scope)."""
        history: dict[str, list[HistoryEntry]] = {id: [] for id in ids}
        if not ids:
            return history
        result = await self._connection.execute(
            sa.select(
                status_history.c.message_id,
                status_history.c.status,
                status_history.c.at,
                status_history.c.actor,
                status_history.c.detail,
            )
            .where(status_history.c.message_id.in_(list(ids)))
            .order_by(status_history.c.message_id, *HISTORY_ORDER)
        )
        for row in result:
            history[row.message_id].append(HistoryEntry(MessageStatus(row.status), row.at, row.actor, row.detail))
        return history
