"""Downloading a published transfer's file, whole or by range, by one of its recipients.

The first download moves that recipient to ``DownloadStarted``; the bytes stream from the file store.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass

from broker.domain.errors import Error, Refusal
from broker.domain.file_transfers import RECIPIENT_STATUS_TEXT, FileTransfer, FileTransferStatus, RecipientStatus
from broker.store.transfer_reads import get_starting_download
from broker.usecases.file_transfers.units import one_write_unit
from broker.usecases.file_transfers.upload import file_store
from broker.usecases.file_transfers.visibility import is_transfer_id, received, recipient_transfer
from broker.usecases.services import Services

_DOWNLOADABLE = frozenset({FileTransferStatus.PUBLISHED, FileTransferStatus.ALL_CONFIRMED_DOWNLOADED})


@dataclass(frozen=True, slots=True)
class ByteRange:
    """``start`` up to and including ``end`` (HTTP's form), within a file of ``total`` bytes."""

    start: int
    end: int
    total: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True, slots=True)
class Download:
    file_name: str
    size: int
    range: ByteRange | None
    chunks: AsyncGenerator[bytes, None]


def parse_range(header: str, total: int) -> ByteRange:
    """One range of ``bytes=a-b``, ``bytes=a-`` or ``bytes=-n``; several ranges are not served."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        raise Refusal(Error.RANGE_NOT_SATISFIABLE, "only one range of bytes is served")
    first, dash, last = spec.strip().partition("-")
    try:
        if not dash:
            raise ValueError
        if first == "":
            suffix = int(last)
            if suffix <= 0:
                raise ValueError
            start, end = max(0, total - suffix), total - 1
        else:
            start = int(first)
            end = int(last) if last else total - 1
    except ValueError as exc:
        raise Refusal(Error.RANGE_NOT_SATISFIABLE, f"the range {header!r} is malformed") from exc
    end = min(end, total - 1)
    if start < 0 or start > end or start >= total:
        raise Refusal(Error.RANGE_NOT_SATISFIABLE, f"the range {header!r} is outside the file of {total} bytes")
    return ByteRange(start, end, total)


def _downloadable(transfer: FileTransfer) -> FileTransfer:
    if transfer.status not in _DOWNLOADABLE:
        raise Refusal(
            Error.FILE_NOT_AVAILABLE,
            "The requested file transfer's file is not ready for download. See file transfer status.",
        )
    return transfer


async def open_download(services: Services, caller: str, transfer_id: str, range_header: str | None) -> Download:
    now = services.clock()
    async with one_write_unit(services) as uow:
        if uow.connection.dialect.name == "postgresql":
            # The read and the recipient's step in one statement: the step's conditions are the checks below
            # (a recipient of it, the transfer downloadable), so a request they refuse moved nothing.
            read = (
                await get_starting_download(uow.connection, transfer_id, caller, _DOWNLOADABLE, now)
                if is_transfer_id(transfer_id)
                else None
            )
            transfer = _downloadable(received(read, caller))
        else:
            transfer = _downloadable(await recipient_transfer(uow, transfer_id, caller))
            await uow.file_transfers.move_recipient(
                transfer.id,
                caller,
                RecipientStatus.DOWNLOAD_STARTED,
                RECIPIENT_STATUS_TEXT[RecipientStatus.DOWNLOAD_STARTED],
                now,
            )
        await uow.commit()
    byte_range = parse_range(range_header, transfer.size) if range_header and transfer.size else None
    start, end = (byte_range.start, byte_range.end + 1) if byte_range else (0, transfer.size)
    return Download(transfer.file_name, transfer.size, byte_range, file_store(services).read(transfer.id, start, end))
