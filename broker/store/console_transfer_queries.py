"""Read models for the console's file-transfer pages: transfers with their recipients, histories and events.

Scoped as the message queries are: ``None`` for an operator, else an orgnr whose staff see the transfers it
sent or is a recipient of, exactly as the API would show that organisation; anything else is "not found".
A recipient's staff see only their own recipient row and history (as the API shows a recipient), and
every viewer sees only the events addressed to their organisation, the operator all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.events.altinn_event import AltinnEvent
from broker.store.tables import (
    file_transfer_events,
    file_transfer_history,
    file_transfer_recipients,
    file_transfers,
)
from broker.store.webhook_repository import event_of

LIST_LIMIT = 200


@dataclass(frozen=True, slots=True)
class RecipientRow:
    recipient: str
    status: str
    status_text: str
    status_changed_at: datetime


@dataclass(frozen=True, slots=True)
class HistoryRow:
    recipient: str | None  # None: the transfer's own status
    status: str
    status_text: str
    at: datetime


@dataclass(frozen=True, slots=True)
class TransferRow:
    id: str
    resource_id: str
    file_name: str
    senders_reference: str
    sender: str
    size: int
    checksum: str | None
    status: str
    status_text: str
    status_changed_at: datetime
    created_at: datetime
    expires_at: datetime
    properties: dict[str, str]
    recipients: list[RecipientRow]


def _transfer(row: Any, recipients: list[RecipientRow]) -> TransferRow:
    return TransferRow(
        id=row.id,
        resource_id=row.resource_id,
        file_name=row.file_name,
        senders_reference=row.senders_reference,
        sender=row.sender,
        size=int(row.size),
        checksum=row.checksum,
        status=row.status,
        status_text=row.status_text,
        status_changed_at=row.status_changed_at,
        created_at=row.created_at,
        expires_at=row.expires_at,
        properties={str(k): str(v) for k, v in (row.properties or {}).items()},
        recipients=recipients,
    )


class ConsoleTransferQueries:
    def __init__(self, connection: AsyncConnection, scope: str | None) -> None:
        self._connection = connection
        self._scope = scope

    def _visible(self) -> list[sa.ColumnElement[bool]]:
        if self._scope is None:
            return []
        as_recipient = sa.select(file_transfer_recipients.c.file_transfer_id).where(
            file_transfer_recipients.c.recipient == self._scope
        )
        return [sa.or_(file_transfers.c.sender == self._scope, file_transfers.c.id.in_(as_recipient))]

    def _sees_every_recipient(self, transfer: Any) -> bool:
        return self._scope is None or transfer.sender == self._scope

    async def _recipients(self, transfers: Sequence[Any]) -> dict[str, list[RecipientRow]]:
        table = file_transfer_recipients
        found: dict[str, list[RecipientRow]] = {t.id: [] for t in transfers}
        if not found:
            return found
        rows = await self._connection.execute(
            sa.select(table).where(table.c.file_transfer_id.in_(list(found))).order_by(table.c.recipient)
        )
        senders = {t.id: t for t in transfers}
        for row in rows:
            if self._sees_every_recipient(senders[row.file_transfer_id]) or row.recipient == self._scope:
                found[row.file_transfer_id].append(
                    RecipientRow(row.recipient, row.status, row.status_text, row.status_changed_at)
                )
        return found

    async def transfers(self, limit: int = LIST_LIMIT) -> list[TransferRow]:
        """The newest transfers the viewer may see."""
        rows = list(
            await self._connection.execute(
                sa.select(file_transfers)
                .where(*self._visible())
                .order_by(file_transfers.c.created_at.desc(), file_transfers.c.id)
                .limit(limit)
            )
        )
        recipients = await self._recipients(rows)
        return [_transfer(row, recipients[row.id]) for row in rows]

    async def transfer(self, transfer_id: str) -> TransferRow | None:
        rows = list(
            await self._connection.execute(
                sa.select(file_transfers).where(file_transfers.c.id == transfer_id, *self._visible())
            )
        )
        if not rows:
            return None
        return _transfer(rows[0], (await self._recipients(rows))[rows[0].id])

    async def history(self, transfer: TransferRow) -> list[HistoryRow]:
        """The transfer's history and its recipients' (a recipient's staff: their own only), in order."""
        table = file_transfer_history
        query = sa.select(table).where(table.c.file_transfer_id == transfer.id).order_by(table.c.id)
        if self._scope is not None and transfer.sender != self._scope:
            query = query.where(sa.or_(table.c.recipient.is_(None), table.c.recipient == self._scope))
        rows = await self._connection.execute(query)
        return [HistoryRow(row.recipient, row.status, row.status_text, row.at) for row in rows]

    async def events(self, transfer: TransferRow) -> list[AltinnEvent]:
        """The events told about the transfer: to the viewer's organisation, or all for an operator."""
        table = file_transfer_events
        query = sa.select(table).where(table.c.file_transfer_id == transfer.id).order_by(table.c.seq)
        if self._scope is not None:
            query = query.where(table.c.party == self._scope)
        return [event_of(row) for row in await self._connection.execute(query)]
