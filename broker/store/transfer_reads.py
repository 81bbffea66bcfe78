"""A file-transfer step that starts with a read, as one statement on PostgreSQL: the transfer is read as it
was before the statement, and the step (a conditional UPDATE and its history row) rides on the read as
data-modifying CTEs.

The UPDATE's conditions are the checks the caller makes on what it read (the caller is the sender or a
recipient, the transfer is in the status the step leaves, the announced size is within the resource's
limit), so a request those checks refuse moved nothing, and one they pass moved the row unless another
request made the step first. A first download or the start of an upload is one round trip. The texts are
fixed, so each is prepared once per connection (built with SQLAlchemy's constructs, each call paid for a
cache key of the whole statement).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.domain.file_transfers import (
    RECIPIENT_STATUS_TEXT,
    STATUS_TEXT,
    FileTransfer,
    FileTransferStatus,
    RecipientStatus,
)
from broker.store.file_transfer_repository import transfer_of
from broker.store.tables import UTC_TIMESTAMP, file_transfer_recipients, file_transfers

_READ = f"""
    SELECT {", ".join("ft." + c.name for c in file_transfers.c)},
           rc.recipient AS r_orgnr, rc.status AS r_status, rc.status_text AS r_status_text,
           rc.status_changed_at AS r_status_changed_at
    FROM file_transfers AS ft LEFT OUTER JOIN file_transfer_recipients AS rc ON rc.file_transfer_id = ft.id
    WHERE ft.id = :id ORDER BY rc.recipient"""  # noqa: S608 (the table's own column names)
_READ_COLUMNS = (
    *file_transfers.c,
    sa.column("r_orgnr", file_transfer_recipients.c.recipient.type),
    sa.column("r_status", file_transfer_recipients.c.status.type),
    sa.column("r_status_text", file_transfer_recipients.c.status_text.type),
    sa.column("r_status_changed_at", UTC_TIMESTAMP),
)

_START_DOWNLOAD = """
    WITH moved AS (
        UPDATE file_transfer_recipients
        SET status = :started, status_text = :text, status_changed_at = :at
        WHERE file_transfer_id = :id AND recipient = :recipient AND status = ANY(CAST(:earlier AS VARCHAR[]))
          AND EXISTS (SELECT 1 FROM file_transfers WHERE id = :id AND status = ANY(CAST(:downloadable AS VARCHAR[])))
        RETURNING file_transfer_id
    ), logged AS (
        INSERT INTO file_transfer_history (file_transfer_id, recipient, status, status_text, at)
        SELECT file_transfer_id, CAST(:recipient AS VARCHAR), CAST(:started AS VARCHAR), CAST(:text AS TEXT),
               CAST(:at AS TIMESTAMPTZ)
        FROM moved
    )"""
_PG_START_DOWNLOAD = sa.text("".join((_START_DOWNLOAD, _READ))).columns(*_READ_COLUMNS)

_START_UPLOAD = """
    WITH moved AS (
        UPDATE file_transfers AS t
        SET status = :started, status_text = :text, status_changed_at = :at, upload_activity_at = :at,
            upload_length = CAST(:length AS BIGINT)
        WHERE t.id = :id AND t.sender = :sender AND t.status = :initialized
          AND EXISTS (
              SELECT 1 FROM resources AS r
              WHERE r.resource_id = t.resource_id
                AND (CAST(:length AS BIGINT) IS NULL
                     OR LEAST(COALESCE(r.max_file_transfer_size, CAST(:broker_limit AS BIGINT)),
                              CAST(:broker_limit AS BIGINT)) >= CAST(:length AS BIGINT))
          )
        RETURNING t.id
    ), logged AS (
        INSERT INTO file_transfer_history (file_transfer_id, recipient, status, status_text, at)
        SELECT id, NULL, CAST(:started AS VARCHAR), CAST(:text AS TEXT), CAST(:at AS TIMESTAMPTZ) FROM moved
    )"""
_PG_START_UPLOAD = sa.text(
    "".join((_START_UPLOAD, _READ.replace("SELECT ", "SELECT (SELECT count(*) FROM moved) AS moved_rows, ", 1)))
).columns(sa.column("moved_rows", sa.Integer), *_READ_COLUMNS)


async def get_starting_download(
    connection: AsyncConnection,
    transfer_id: str,
    recipient: str,
    downloadable: Iterable[FileTransferStatus],
    at: datetime,
) -> FileTransfer | None:
    """The transfer and ``recipient``'s step to ``DownloadStarted`` when it is a recipient of the transfer,
    not that far yet, and the transfer is ``downloadable``."""
    started = RecipientStatus.DOWNLOAD_STARTED
    params = {
        "id": transfer_id,
        "recipient": recipient,
        "started": started.value,
        "text": RECIPIENT_STATUS_TEXT[started],
        "at": at,
        "earlier": [s.value for s in RecipientStatus][: list(RecipientStatus).index(started)],
        "downloadable": sorted(s.value for s in downloadable),
    }
    return transfer_of((await connection.execute(_PG_START_DOWNLOAD, params)).all())


async def get_starting_upload(
    connection: AsyncConnection, transfer_id: str, sender: str, length: int | None, broker_limit: int, at: datetime
) -> tuple[FileTransfer | None, bool]:
    """The transfer and, when ``sender`` sent it, it is ``Initialized``, its resource is configured and an
    announced ``length`` is within the resource's limit (never above ``broker_limit``), its step to
    ``UploadStarted``. Answers the transfer and whether it moved."""
    started = FileTransferStatus.UPLOAD_STARTED
    params = {
        "id": transfer_id,
        "sender": sender,
        "started": started.value,
        "text": STATUS_TEXT[started],
        "initialized": FileTransferStatus.INITIALIZED.value,
        "at": at,
        "length": length,
        "broker_limit": broker_limit,
    }
    rows = (await connection.execute(_PG_START_UPLOAD, params)).all()
    return transfer_of(rows), bool(rows and rows[0].moved_rows)
