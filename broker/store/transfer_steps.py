"""File-transfer steps that write, each as one statement on PostgreSQL: the step, its history rows and the
events (with their outbox rows and webhook deliveries) that announce it.

A statement is a transaction of its own, so such a step runs in autocommit on a kept connection
(``KeptConnections``): one round trip where a unit of work paid a pool checkout, a liveness ping, BEGIN,
a statement for each part and COMMIT. Each UPDATE is conditional, as ``FileTransferRepository.move`` is,
and what follows it (history, events) is guarded by whether it moved a row, so a step that another request
made first announces nothing twice. On SQLite, which has no data-modifying CTE, the same rows are written
by several statements in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.domain.file_transfers import (
    RECIPIENT_STATUS_TEXT,
    STATUS_TEXT,
    FileTransferStatus,
    RecipientStatus,
    can_move,
)
from broker.events.altinn_event import AltinnEvent
from broker.store.event_rows import append_event_rows, cloud_event_entries, pg_announce_params, pg_append_ctes
from broker.store.file_transfer_repository import (
    PG_ADD_CTES,
    FileTransferRepository,
    NewFileTransfer,
    pg_add_params,
)
from broker.store.outbox_repository import OutboxEntry

_PG_INITIALIZE = sa.text("".join(("WITH ", PG_ADD_CTES, ",", pg_append_ctes(), " SELECT 1")))

# UploadProcessing and Published in one UPDATE (the status it leaves must allow UploadProcessing, which always
# allows Published), with a history row for each.
_PUBLISH_STEP = """
    WITH moved AS (
        UPDATE file_transfers
        SET status = :status, status_text = :status_text, status_changed_at = :at, size = :size,
            checksum = :checksum, upload_activity_at = :at
        WHERE id = :id AND status = ANY(CAST(:allowed AS VARCHAR[]))
        RETURNING id
    ), history AS (
        INSERT INTO file_transfer_history (file_transfer_id, recipient, status, status_text, at)
        SELECT m.id, NULL, h.status, h.status_text, CAST(:at AS TIMESTAMPTZ)
        FROM moved AS m,
             unnest(CAST(:h_statuses AS VARCHAR[]), CAST(:h_texts AS TEXT[]))
             WITH ORDINALITY AS h(status, status_text, n)
        ORDER BY h.n
    ),"""
_PG_PUBLISH = sa.text(
    "".join((_PUBLISH_STEP, pg_append_ctes(("EXISTS (SELECT 1 FROM moved)",)), " SELECT count(*) AS moved FROM moved"))
)

# A sole recipient's confirm: the recipient's step (only while the transfer is published) and, as it was the
# only one, the transfer's step to AllConfirmedDownloaded; two guards, one for each step's events.
_CONFIRM_STEPS = """
    WITH confirmed AS (
        UPDATE file_transfer_recipients
        SET status = :r_status, status_text = :r_text, status_changed_at = :at
        WHERE file_transfer_id = :id AND recipient = :recipient AND status = ANY(CAST(:r_earlier AS VARCHAR[]))
          AND EXISTS (SELECT 1 FROM file_transfers WHERE id = :id AND status = :published)
        RETURNING file_transfer_id
    ), done AS (
        UPDATE file_transfers
        SET status = :t_status, status_text = :t_text, status_changed_at = :at, purge_at = :purge_at
        WHERE id = (SELECT file_transfer_id FROM confirmed) AND status = ANY(CAST(:t_allowed AS VARCHAR[]))
        RETURNING id
    ), history AS (
        INSERT INTO file_transfer_history (file_transfer_id, recipient, status, status_text, at)
        SELECT file_transfer_id, CAST(:recipient AS VARCHAR), CAST(:r_status AS VARCHAR), CAST(:r_text AS TEXT),
               CAST(:at AS TIMESTAMPTZ)
        FROM confirmed
        UNION ALL
        SELECT id, NULL, CAST(:t_status AS VARCHAR), CAST(:t_text AS TEXT), CAST(:at AS TIMESTAMPTZ) FROM done
    ),"""
_PG_CONFIRM_SOLE = sa.text(
    "".join(
        (
            _CONFIRM_STEPS,
            pg_append_ctes(("EXISTS (SELECT 1 FROM confirmed)", "EXISTS (SELECT 1 FROM done)")),
            " SELECT (SELECT count(*) FROM confirmed) AS confirmed, (SELECT count(*) FROM done) AS done",
        )
    )
)


def _postgres(connection: AsyncConnection) -> bool:
    return connection.dialect.name == "postgresql"


async def add_announced(
    connection: AsyncConnection, new: NewFileTransfer, events: Sequence[AltinnEvent], now: datetime
) -> None:
    """A new transfer (``FileTransferRepository.add``) and the events announcing it."""
    if _postgres(connection):
        await connection.execute(_PG_INITIALIZE, {**pg_add_params(new), **pg_announce_params(events, [], now)})
        return
    await FileTransferRepository(connection).add(new)
    await append_event_rows(connection, events, cloud_event_entries(events), now)


async def publish_uploaded(
    connection: AsyncConnection,
    transfer_id: str,
    size: int,
    checksum: str | None,
    at: datetime,
    events: Sequence[AltinnEvent],
    notices: Sequence[OutboxEntry],
) -> bool:
    """``UploadProcessing`` then ``Published``, their events and the recipients' notices; False (and nothing
    written) when the transfer had left ``UploadStarted`` meanwhile (terminated, timed out)."""
    processing, published = FileTransferStatus.UPLOAD_PROCESSING, FileTransferStatus.PUBLISHED
    if not _postgres(connection):
        repository = FileTransferRepository(connection)
        values = {"size": size, "checksum": checksum, "upload_activity_at": at}
        if not await repository.move(transfer_id, processing, STATUS_TEXT[processing], at, values=values):
            return False
        if not await repository.move(transfer_id, published, STATUS_TEXT[published], at):
            return False
        await append_event_rows(connection, events, [*cloud_event_entries(events), *notices], at)
        return True
    assert can_move(processing, published)
    params = {
        "id": transfer_id,
        "status": published.value,
        "status_text": STATUS_TEXT[published],
        "at": at,
        "size": size,
        "checksum": checksum,
        "allowed": [s.value for s in FileTransferStatus if can_move(s, processing)],
        "h_statuses": [processing.value, published.value],
        "h_texts": [STATUS_TEXT[processing], STATUS_TEXT[published]],
        **pg_announce_params(events, notices, at),
    }
    return int((await connection.execute(_PG_PUBLISH, params)).scalar_one()) == 1


async def confirm_sole_recipient(
    connection: AsyncConnection,
    transfer_id: str,
    recipient: str,
    at: datetime,
    purge_at: datetime | None,
    confirmed_events: Sequence[AltinnEvent],
    done_events: Sequence[AltinnEvent],
) -> tuple[bool, bool]:
    """PostgreSQL only: the confirm of a transfer's only recipient, and the transfer's ``AllConfirmedDownloaded``
    with it (its ``purge_at``). Answers whether the recipient moved and whether the transfer did."""
    confirmed, done = RecipientStatus.DOWNLOAD_CONFIRMED, FileTransferStatus.ALL_CONFIRMED_DOWNLOADED
    params = {
        "id": transfer_id,
        "recipient": recipient,
        "at": at,
        "purge_at": purge_at,
        "published": FileTransferStatus.PUBLISHED.value,
        "r_status": confirmed.value,
        "r_text": RECIPIENT_STATUS_TEXT[confirmed],
        "r_earlier": [s.value for s in RecipientStatus][: list(RecipientStatus).index(confirmed)],
        "t_status": done.value,
        "t_text": STATUS_TEXT[done],
        "t_allowed": [s.value for s in FileTransferStatus if can_move(s, done)],
        **pg_announce_params(
            [*confirmed_events, *done_events], [], at, event_steps=[0] * len(confirmed_events) + [1] * len(done_events)
        ),
    }
    row = (await connection.execute(_PG_CONFIRM_SOLE, params)).one()
    return bool(row.confirmed), bool(row.done)
