"""File transfers, their recipients and their append-only histories.

Every status change is one conditional UPDATE that only touches a row whose current status may be followed
by the new one, plus a history row when it did: two requests racing (two confirms, an upload and a purge)
cannot both make the same step, and nothing moves backwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.domain.file_transfers import (
    FileTransfer,
    FileTransferStatus,
    RecipientEvent,
    RecipientState,
    RecipientStatus,
    SearchRole,
    StatusEvent,
    can_move,
)
from broker.store.tables import file_transfer_history, file_transfer_recipients, file_transfers

SEARCH_LIMIT = 100

# A new transfer on PostgreSQL as data-modifying CTEs: its row, its recipients' and their history rows (the
# transfer's own first), the lists as arrays so that the text is the same for any number of recipients and
# is prepared once. ``transfer_steps`` adds the events that announce it to the same statement.
PG_ADD_CTES = """
    transfer AS (
        INSERT INTO file_transfers (id, resource_id, file_name, senders_reference, sender, properties, checksum,
                                    size, status, status_text, status_changed_at, created_at, expires_at)
        VALUES (:id, :resource_id, :file_name, :senders_reference, :sender, CAST(:properties AS JSON), :checksum,
                :size, :status, :status_text, :status_changed_at, :created_at, :expires_at)
    ), recipients AS (
        INSERT INTO file_transfer_recipients (file_transfer_id, recipient, status, status_text, status_changed_at)
        SELECT CAST(:id AS VARCHAR), r.recipient, CAST(:recipient_status AS VARCHAR),
               CAST(:recipient_status_text AS TEXT), CAST(:created_at AS TIMESTAMPTZ)
        FROM unnest(CAST(:recipients AS VARCHAR[])) AS r(recipient)
    ), history AS (
        INSERT INTO file_transfer_history (file_transfer_id, recipient, status, status_text, at)
        SELECT CAST(:id AS VARCHAR), h.recipient, h.status, h.status_text, CAST(:created_at AS TIMESTAMPTZ)
        FROM unnest(CAST(:h_recipients AS VARCHAR[]), CAST(:h_statuses AS VARCHAR[]), CAST(:h_texts AS TEXT[]))
             WITH ORDINALITY AS h(recipient, status, status_text, n)
        ORDER BY h.n
    )"""
_PG_ADD = sa.text("WITH " + PG_ADD_CTES + " SELECT 1")


@dataclass(frozen=True, slots=True)
class NewFileTransfer:
    id: str
    resource_id: str
    file_name: str
    senders_reference: str
    sender: str
    properties: Mapping[str, str]
    checksum: str | None
    recipients: Sequence[str]
    status_text: str
    recipient_status_text: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TransferSearch:
    caller: str
    resource_id: str
    status: FileTransferStatus | None = None
    recipient_status: RecipientStatus | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    role: SearchRole | None = None


def pg_add_params(new: NewFileTransfer) -> dict[str, object]:
    """The parameters of ``PG_ADD_CTES``."""
    initialized = FileTransferStatus.INITIALIZED.value
    recipient_initialized = RecipientStatus.INITIALIZED.value
    return {
        "id": new.id,
        "resource_id": new.resource_id,
        "file_name": new.file_name,
        "senders_reference": new.senders_reference,
        "sender": new.sender,
        "properties": json.dumps(dict(new.properties)),
        "checksum": new.checksum,
        "size": 0,
        "status": initialized,
        "status_text": new.status_text,
        "status_changed_at": new.created_at,
        "created_at": new.created_at,
        "expires_at": new.expires_at,
        "recipients": list(new.recipients),
        "recipient_status": recipient_initialized,
        "recipient_status_text": new.recipient_status_text,
        "h_recipients": [None, *new.recipients],
        "h_statuses": [initialized] + [recipient_initialized] * len(new.recipients),
        "h_texts": [new.status_text] + [new.recipient_status_text] * len(new.recipients),
    }


def _read_query() -> sa.Select[Any]:
    """A transfer with its recipients: one row per recipient (an outer join), for ``transfer_of``."""
    ft, rc = file_transfers, file_transfer_recipients
    return (
        sa.select(
            ft,
            rc.c.recipient.label("r_orgnr"),
            rc.c.status.label("r_status"),
            rc.c.status_text.label("r_status_text"),
            rc.c.status_changed_at.label("r_status_changed_at"),
        )
        .select_from(ft.outerjoin(rc, rc.c.file_transfer_id == ft.c.id))
        .where(ft.c.id == sa.bindparam("transfer_id", type_=ft.c.id.type))
        .order_by(rc.c.recipient)
    )


# Built once: every download, confirm and overview reads a transfer, and building the statement (and its
# cache key) anew for each was about 4 % of the broker's CPU in the small-transfer benchmark.
_READ = _read_query()
_READ_FOR_UPDATE = _READ.with_for_update(of=file_transfers)


def transfer_of(rows: Sequence[Any]) -> FileTransfer | None:
    if not rows:
        return None
    row = rows[0]
    return FileTransfer(
        id=row.id,
        resource_id=row.resource_id,
        file_name=row.file_name,
        senders_reference=row.senders_reference,
        sender=row.sender,
        properties={str(k): str(v) for k, v in (row.properties or {}).items()},
        checksum=row.checksum,
        size=int(row.size),
        status=FileTransferStatus(row.status),
        status_text=row.status_text,
        status_changed_at=row.status_changed_at,
        created_at=row.created_at,
        expires_at=row.expires_at,
        upload_length=row.upload_length,
        recipients=tuple(
            RecipientState(r.r_orgnr, RecipientStatus(r.r_status), r.r_status_text, r.r_status_changed_at)
            for r in rows
            if r.r_orgnr is not None
        ),
    )


class FileTransferRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, new: NewFileTransfer) -> None:
        """The transfer, its recipients and their first history rows: one statement on PostgreSQL (the first
        INSERTs are data-modifying CTEs), three on SQLite."""
        if self._connection.dialect.name == "postgresql":
            await self._connection.execute(_PG_ADD, pg_add_params(new))
            return
        at = new.created_at
        initialized = FileTransferStatus.INITIALIZED.value
        transfer = {
            "id": new.id,
            "resource_id": new.resource_id,
            "file_name": new.file_name,
            "senders_reference": new.senders_reference,
            "sender": new.sender,
            "properties": dict(new.properties),
            "checksum": new.checksum,
            "size": 0,
            "status": initialized,
            "status_text": new.status_text,
            "status_changed_at": at,
            "created_at": at,
            "expires_at": new.expires_at,
        }
        recipients = [
            {
                "file_transfer_id": new.id,
                "recipient": r,
                "status": RecipientStatus.INITIALIZED.value,
                "status_text": new.recipient_status_text,
                "status_changed_at": at,
            }
            for r in new.recipients
        ]
        history = [{"recipient": None, "status": initialized, "status_text": new.status_text}]
        history += [
            {"recipient": r, "status": RecipientStatus.INITIALIZED.value, "status_text": new.recipient_status_text}
            for r in new.recipients
        ]
        history_rows = [{"file_transfer_id": new.id, "at": at, **h} for h in history]
        await self._connection.execute(sa.insert(file_transfers).values(transfer))
        await self._connection.execute(sa.insert(file_transfer_recipients), recipients)
        await self._connection.execute(sa.insert(file_transfer_history), history_rows)

    async def get(self, transfer_id: str, *, for_update: bool = False) -> FileTransfer | None:
        """The transfer and its recipients, read in one statement (an outer join: one row per recipient).

        ``for_update`` locks the transfer's row on PostgreSQL until the transaction ends (SQLite's writer lock
        orders writers there); the recipients' rows are not locked, and are read as of the statement's start."""
        query = _READ_FOR_UPDATE if for_update and self._connection.dialect.name == "postgresql" else _READ
        return transfer_of((await self._connection.execute(query, {"transfer_id": transfer_id})).all())

    async def move(
        self,
        transfer_id: str,
        new: FileTransferStatus,
        text: str,
        at: datetime,
        *,
        values: Mapping[str, object] | None = None,
    ) -> bool:
        """Move the transfer to ``new`` if its current status allows it; False when it did not move."""
        allowed = [s.value for s in FileTransferStatus if can_move(s, new)]
        update = (
            sa.update(file_transfers)
            .where(file_transfers.c.id == transfer_id, file_transfers.c.status.in_(allowed))
            .values(status=new.value, status_text=text, status_changed_at=at, **dict(values or {}))
        )
        return await self._moved_with_history(update, transfer_id, None, new.value, text, at)

    async def update(self, transfer_id: str, **values: object) -> None:
        """Set columns that are no status (size, checksum, the TUS upload's length)."""
        await self._connection.execute(
            sa.update(file_transfers).where(file_transfers.c.id == transfer_id).values(**values)
        )

    async def move_recipient(
        self, transfer_id: str, recipient: str, new: RecipientStatus, text: str, at: datetime
    ) -> bool:
        """Move one recipient forward to ``new``; False when it is there already or further."""
        earlier = [s.value for s in RecipientStatus][: list(RecipientStatus).index(new)]
        update = (
            sa.update(file_transfer_recipients)
            .where(
                file_transfer_recipients.c.file_transfer_id == transfer_id,
                file_transfer_recipients.c.recipient == recipient,
                file_transfer_recipients.c.status.in_(earlier),
            )
            .values(status=new.value, status_text=text, status_changed_at=at)
        )
        return await self._moved_with_history(update, transfer_id, recipient, new.value, text, at)

    async def _moved_with_history(
        self, update: sa.Update, transfer_id: str, recipient: str | None, status: str, text: str, at: datetime
    ) -> bool:
        """Run the conditional ``update`` and, if it moved a row, append its history row.

        On PostgreSQL both are one statement (the history row is inserted from the UPDATE's RETURNING), so a
        step costs one round trip; SQLite has no data-modifying CTE, and takes two."""
        row = {"file_transfer_id": transfer_id, "recipient": recipient, "status": status, "status_text": text, "at": at}
        if self._connection.dialect.name != "postgresql":
            if (await self._connection.execute(update)).rowcount != 1:
                return False
            await self._connection.execute(sa.insert(file_transfer_history).values(**row))
            return True
        moved = update.returning(sa.literal(1).label("moved")).cte("moved")
        history = file_transfer_history.c
        insert = (
            sa.insert(file_transfer_history)
            .from_select(
                list(row),
                sa.select(*(sa.literal(value, history[name].type) for name, value in row.items())).select_from(moved),
            )
            .add_cte(moved)
            .returning(history.id)
        )
        return len((await self._connection.execute(insert)).all()) == 1

    async def histories(self, transfer_id: str) -> tuple[list[StatusEvent], list[RecipientEvent]]:
        rows = await self._connection.execute(
            sa.select(file_transfer_history)
            .where(file_transfer_history.c.file_transfer_id == transfer_id)
            .order_by(file_transfer_history.c.id)
        )
        own: list[StatusEvent] = []
        recipients: list[RecipientEvent] = []
        for row in rows:
            if row.recipient is None:
                own.append(StatusEvent(row.status, row.status_text, row.at))
            else:
                recipients.append(RecipientEvent(row.recipient, row.status, row.status_text, row.at))
        return own, recipients

    async def search(self, search: TransferSearch) -> list[str]:
        """The ids of the caller's transfers on a resource, newest first, at most ``SEARCH_LIMIT``."""
        ft, rc = file_transfers, file_transfer_recipients
        as_recipient: sa.ColumnElement[bool] = sa.exists().where(
            rc.c.file_transfer_id == ft.c.id, rc.c.recipient == search.caller
        )
        party: sa.ColumnElement[bool]
        if search.recipient_status is not None:
            as_recipient = sa.exists().where(
                rc.c.file_transfer_id == ft.c.id,
                rc.c.recipient == search.caller,
                rc.c.status == search.recipient_status.value,
            )
            party = as_recipient
        elif search.role is SearchRole.SENDER:
            party = ft.c.sender == search.caller
        elif search.role is SearchRole.RECIPIENT:
            party = as_recipient
        else:
            party = sa.or_(ft.c.sender == search.caller, as_recipient)
        query = sa.select(ft.c.id).where(ft.c.resource_id == search.resource_id, party)
        if search.status is not None:
            query = query.where(ft.c.status == search.status.value)
        if search.created_from is not None:
            query = query.where(ft.c.created_at >= search.created_from)
        if search.created_to is not None:
            query = query.where(ft.c.created_at <= search.created_to)
        query = query.order_by(ft.c.created_at.desc(), ft.c.id).limit(SEARCH_LIMIT)
        return [row.id for row in await self._connection.execute(query)]

    async def due(self, status: Iterable[FileTransferStatus], column: str, now: datetime, limit: int) -> list[str]:
        """Transfers in one of ``status`` whose ``column`` (``expires_at`` or ``purge_at``) has passed."""
        deadline = file_transfers.c[column]
        query = (
            sa.select(file_transfers.c.id)
            .where(file_transfers.c.status.in_([s.value for s in status]), deadline.is_not(None), deadline <= now)
            .order_by(deadline)
            .limit(limit)
        )
        return [row.id for row in await self._connection.execute(query)]
