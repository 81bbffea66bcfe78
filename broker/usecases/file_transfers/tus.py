"""Resumable upload over TUS 1.0 (core, creation and termination), as Altinn 3 Broker offers it.

The sender creates the upload for an initialized transfer with its length, then PATCHes bytes at the offset
the broker reports (HEAD); an interrupted PATCH keeps what arrived, and the client resumes from there. When
the last byte arrives the file is processed as any upload (checksum over the whole file, payload check, then
published or failed). An upload that receives nothing for the stall timeout fails (the lifecycle task).

PATCHes of one transfer are taken one at a time in this process; a second concurrent one waits, then finds
the offset moved and is refused with 409, as TUS prescribes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from weakref import WeakValueDictionary

from broker.domain.errors import Error, Refusal
from broker.domain.file_transfers import FileTransferStatus
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.file_transfers.cached_reads import resource_of
from broker.usecases.file_transfers.upload import (
    Oversize,
    UploadSlot,
    fail_transfer,
    file_md5,
    file_store,
    process_upload,
    size_limit,
    start_upload,
    write_chunks,
)
from broker.usecases.file_transfers.visibility import sender_transfer
from broker.usecases.services import Services

_locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()
TERMINATED_TEXT = "The upload was terminated by the sender"


@dataclass(frozen=True, slots=True)
class UploadProgress:
    offset: int
    length: int


def _lock(transfer_id: str) -> asyncio.Lock:
    lock = _locks.get(transfer_id)
    if lock is None:
        lock = _locks[transfer_id] = asyncio.Lock()
    return lock


async def tus_create(services: Services, caller: str, transfer_id: str, length: int) -> None:
    if length < 0:
        raise Refusal(Error.FILE_TRANSFER_INVALID, "Upload-Length must be a whole number of bytes")
    slot = await start_upload(services, caller, transfer_id, length)
    writer = await file_store(services).open_writer(slot.transfer.id, 0)
    await writer.close()
    if length == 0:
        await process_upload(services, slot, 0, await file_md5(file_store(services), slot.transfer.id))


async def _slot(services: Services, caller: str, transfer_id: str) -> UploadSlot:
    async with UnitOfWork(services.engine) as uow:
        transfer = await sender_transfer(uow, transfer_id, caller)
        resource = await resource_of(services, uow, transfer.resource_id)
    if transfer.upload_length is None or resource is None:
        raise Refusal(Error.FILE_TRANSFER_NOT_FOUND, "no resumable upload was created for this file transfer")
    return UploadSlot(transfer, resource, min(size_limit(services, resource), transfer.upload_length))


async def tus_progress(services: Services, caller: str, transfer_id: str) -> UploadProgress:
    slot = await _slot(services, caller, transfer_id)
    length = slot.transfer.upload_length or 0
    if slot.transfer.status is not FileTransferStatus.UPLOAD_STARTED:
        if slot.transfer.status in (FileTransferStatus.FAILED, FileTransferStatus.PURGED):
            raise Refusal(Error.FILE_TRANSFER_NOT_FOUND, "the upload has ended: see the file transfer's status")
        return UploadProgress(length, length)  # received whole, processed or being processed
    return UploadProgress(await file_store(services).size(slot.transfer.id) or 0, length)


async def tus_patch(
    services: Services, caller: str, transfer_id: str, offset: int, chunks: AsyncIterator[bytes]
) -> UploadProgress:
    """Append at ``offset`` (which must be the current one); answer the new offset."""
    store = file_store(services)
    async with _lock(transfer_id):
        slot = await _slot(services, caller, transfer_id)  # read under the lock: a PATCH before may have ended it
        length = slot.transfer.upload_length or 0
        progress = await tus_progress(services, caller, transfer_id)
        if slot.transfer.status is not FileTransferStatus.UPLOAD_STARTED and offset == length:
            return progress  # a repeated final PATCH: the upload is complete already
        if offset != progress.offset or slot.transfer.status is not FileTransferStatus.UPLOAD_STARTED:
            raise Refusal(Error.TUS_OFFSET_MISMATCH, f"Upload-Offset is {offset}, the upload is at {progress.offset}")
        try:
            written, _ = await write_chunks(store, slot.transfer.id, chunks, offset=offset, limit=slot.limit)
        except Oversize as exc:
            raise Refusal(
                Error.FILE_SIZE_TOO_BIG, f"more bytes than the Upload-Length of {length} (or the resource allows)"
            ) from exc
        finally:
            async with UnitOfWork(services.engine) as uow:
                await uow.file_transfers.update(slot.transfer.id, upload_activity_at=services.clock())
                await uow.commit()
        new_offset = offset + written
        if new_offset == length:
            await process_upload(services, slot, length, await file_md5(store, slot.transfer.id))
    return UploadProgress(new_offset, length)


async def tus_terminate(services: Services, caller: str, transfer_id: str) -> None:
    slot = await _slot(services, caller, transfer_id)
    if slot.transfer.status is not FileTransferStatus.UPLOAD_STARTED:
        raise Refusal(Error.ALREADY_UPLOADED, "only an incomplete upload can be terminated")
    async with _lock(slot.transfer.id):
        await fail_transfer(services, slot.transfer, TERMINATED_TEXT)
