"""Uploading a transfer's file: streamed to the file store, checked, then published or failed.

The bytes go to the file store chunk by chunk as they arrive (never the whole file in memory) while the MD5
is computed alongside; the resource's size limit is enforced while streaming, so an oversized upload is
cut off at the limit. Then the transfer is ``UploadProcessing``: the checksum is compared, the payload
checked against the resource's schema set, and the transfer ends ``Published`` (one queue notice per
recipient) or ``Failed`` with its reasons. A failed transfer's bytes are deleted; it is never published.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime

from broker.domain.errors import Error, Issue, Refusal
from broker.domain.file_transfers import STATUS_TEXT, FileTransfer, FileTransferStatus, ResourceSettings
from broker.domain.payload_check import PayloadError, PayloadReport, PayloadSubject
from broker.files.store import FileStore
from broker.store.transfer_reads import get_starting_upload
from broker.store.transfer_steps import publish_uploaded
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.file_transfers.cached_reads import resource_of
from broker.usecases.file_transfers.events import SENDER, TransferEvent, announce, transfer_events
from broker.usecases.file_transfers.publish import publish_transfer, published_step
from broker.usecases.file_transfers.units import one_write_unit
from broker.usecases.file_transfers.visibility import is_transfer_id, sender_transfer, sent_by
from broker.usecases.services import Services

_INTERRUPTED = "The upload was interrupted before the whole file was received"


@dataclass(frozen=True, slots=True)
class UploadSlot:
    """A transfer whose upload has started, with the most it may hold."""

    transfer: FileTransfer
    resource: ResourceSettings
    limit: int


class Oversize(Exception):
    """More bytes arrived than the resource allows."""


def file_store(services: Services) -> FileStore:
    if services.file_store is None:
        raise Refusal(Error.FILE_STORE_UNAVAILABLE, "this broker has no file store configured")
    return services.file_store


def size_limit(services: Services, resource: ResourceSettings) -> int:
    broker_wide = services.settings.max_file_transfer_size
    return min(resource.max_file_transfer_size or broker_wide, broker_wide)


async def start_upload(services: Services, caller: str, transfer_id: str, announced_length: int | None) -> UploadSlot:
    """Move the caller's ``Initialized`` transfer to ``UploadStarted``; a second upload is a conflict."""
    now = services.clock()
    async with one_write_unit(services) as uow:
        if uow.connection.dialect.name == "postgresql":
            # The read and the step in one statement, the step conditioned on the checks below.
            read, moved = (
                await get_starting_upload(
                    uow.connection,
                    transfer_id,
                    caller,
                    announced_length,
                    services.settings.max_file_transfer_size,
                    now,
                )
                if is_transfer_id(transfer_id)
                else (None, False)
            )
            transfer = sent_by(read, caller)
        else:
            transfer, moved = await sender_transfer(uow, transfer_id, caller), False
        resource = await resource_of(services, uow, transfer.resource_id)
        if resource is None:
            raise Refusal(Error.RESOURCE_NOT_CONFIGURED, f"the resource {transfer.resource_id} is no longer configured")
        limit = size_limit(services, resource)
        if not moved:
            _check_startable(transfer, announced_length, limit)
            moved = await uow.file_transfers.move(
                transfer.id,
                FileTransferStatus.UPLOAD_STARTED,
                STATUS_TEXT[FileTransferStatus.UPLOAD_STARTED],
                now,
                values={"upload_activity_at": now, "upload_length": announced_length},
            )
        if not moved:
            raise Refusal(Error.ALREADY_UPLOADED, "the upload of this file transfer has started already")
        await uow.commit()
    return UploadSlot(transfer, resource, limit)


def _check_startable(transfer: FileTransfer, announced_length: int | None, limit: int) -> None:
    if transfer.status is not FileTransferStatus.INITIALIZED:
        raise Refusal(
            Error.ALREADY_UPLOADED,
            "A file transfer has already been, or attempted to be, created. "
            "Create a new file transfer resource to try again.",
        )
    if announced_length is not None and announced_length > limit:
        raise Refusal(Error.FILE_SIZE_TOO_BIG, f"File size exceeds maximum ({limit} bytes on this resource)")


async def write_chunks(
    store: FileStore, key: str, chunks: AsyncIterator[bytes], *, offset: int, limit: int
) -> tuple[int, hashlib._Hash]:
    """Append ``chunks`` at ``offset``; answer the bytes written and their MD5 (of this write only)."""
    digest = hashlib.md5(usedforsecurity=False)
    writer = await store.open_writer(key, offset)
    written = 0
    # One chunk is hashed and written (in one hand-off to a worker thread) while the next is received: at most
    # two chunks in memory.
    pending: asyncio.Task[None] | None = None
    try:
        async for chunk in chunks:
            written += len(chunk)
            if offset + written > limit:
                raise Oversize
            if pending is not None:
                await pending
            pending = asyncio.ensure_future(writer.write(chunk, digest))
        if pending is not None:
            await pending
            pending = None
    finally:
        if pending is not None:
            await asyncio.gather(pending, return_exceptions=True)
        await writer.close()
    return written, digest


async def file_md5(store: FileStore, key: str) -> str:
    """The MD5 of a stored file, read back in chunks (a resumed upload arrived in several requests)."""
    digest = hashlib.md5(usedforsecurity=False)
    async for chunk in store.read(key):
        await asyncio.to_thread(digest.update, chunk)
    return digest.hexdigest()


async def upload_stream(
    services: Services, caller: str, transfer_id: str, chunks: AsyncIterator[bytes], length: int | None
) -> str:
    """The whole file in one request: stream, check and publish. Answers the transfer's id."""
    slot = await start_upload(services, caller, transfer_id, length)
    store = file_store(services)
    try:
        size, digest = await write_chunks(store, slot.transfer.id, chunks, offset=0, limit=slot.limit)
    except Oversize as exc:
        await fail_transfer(services, slot.transfer, f"File size exceeds maximum ({slot.limit} bytes)")
        raise Refusal(
            Error.FILE_SIZE_TOO_BIG, f"File size exceeds maximum ({slot.limit} bytes on this resource)"
        ) from exc
    except BaseException:
        await asyncio.shield(fail_transfer(services, slot.transfer, _INTERRUPTED))
        raise
    if length is not None and size != length:
        await fail_transfer(services, slot.transfer, _INTERRUPTED)
        raise Refusal(Error.UPLOAD_FAILED, f"received {size} bytes where Content-Length announced {length}")
    await process_upload(services, slot, size, digest.hexdigest())
    return slot.transfer.id


async def process_upload(services: Services, slot: UploadSlot, size: int, md5: str) -> None:
    """``UploadProcessing``: compare the checksum, check the payload, then publish or fail."""
    transfer = slot.transfer
    if (not transfer.checksum or transfer.checksum == md5) and not slot.resource.schema_set:
        await _process_and_publish(services, replace(transfer, size=size, checksum=transfer.checksum or md5))
        return
    now = services.clock()
    async with UnitOfWork(services.engine) as uow:
        moved = await uow.file_transfers.move(
            transfer.id,
            FileTransferStatus.UPLOAD_PROCESSING,
            STATUS_TEXT[FileTransferStatus.UPLOAD_PROCESSING],
            now,
            values={"size": size, "checksum": transfer.checksum or md5, "upload_activity_at": now},
        )
        if not moved:
            raise Refusal(Error.UPLOAD_FAILED, "the upload was ended meanwhile (terminated or timed out)")
        await _tell_sender(uow, TransferEvent.UPLOAD_PROCESSING, transfer, now)
        await uow.commit()
    services.outbox_written()
    if transfer.checksum and transfer.checksum != md5:
        text = "The checksum of uploaded file did not match the checksum specified in initialize call."
        await fail_transfer(services, transfer, f"Checksum mismatch: {text}")
        raise Refusal(Error.CHECKSUM_MISMATCH, text)
    report = await _check_payload(services, slot)
    if not report.ok:
        listed = "; ".join(str(e) for e in report.errors)
        await fail_transfer(services, transfer, f"The file breaks the schema set {slot.resource.schema_set}: {listed}")
        issues = [Issue(e.message, e.line, e.column, e.path, file=e.file) for e in report.errors]
        raise Refusal(Error.PAYLOAD_INVALID, f"{len(issues)} error(s) in the file; it is not published", issues)
    await publish_transfer(services, transfer.id)


async def _process_and_publish(services: Services, transfer: FileTransfer) -> None:
    """Nothing to wait for (the checksum matches, no schema set to check): ``UploadProcessing`` and
    ``Published``, their events and the recipients' notices in one statement on PostgreSQL (on a kept
    autocommit connection: one round trip)."""
    now = services.clock()
    async with one_write_unit(services) as uow:
        processing = transfer_events(
            TransferEvent.UPLOAD_PROCESSING,
            resource_id=transfer.resource_id,
            file_transfer_id=transfer.id,
            parties=[(transfer.sender, SENDER)],
            at=now,
        )
        published, notices = published_step(transfer, now)
        moved = await publish_uploaded(
            uow.connection, transfer.id, transfer.size, transfer.checksum, now, processing + published, notices
        )
        if not moved:
            raise Refusal(Error.UPLOAD_FAILED, "the upload was ended meanwhile (terminated or timed out)")
        await uow.commit()
    services.outbox_written()


async def _check_payload(services: Services, slot: UploadSlot) -> PayloadReport:
    schema_set = slot.resource.schema_set
    if not schema_set:
        return PayloadReport()
    validator = services.payload_validator
    if validator is None:
        return PayloadReport([PayloadError(f"this broker has no validator for the schema set {schema_set}")])
    transfer = slot.transfer
    subject = PayloadSubject(
        file_transfer_id=transfer.id,
        resource_id=transfer.resource_id,
        schema_set=schema_set,
        file_name=transfer.file_name,
        sender=transfer.sender,
        recipients=[r.orgnr for r in transfer.recipients],
        properties=transfer.properties,
    )
    return await validator.check(subject, file_store(services).local_path(transfer.id))


async def fail_transfer(services: Services, transfer: FileTransfer, reason: str) -> bool:
    """End the transfer ``Failed`` with ``reason`` as its status text, and delete whatever bytes it has."""
    now = services.clock()
    async with UnitOfWork(services.engine) as uow:
        failed = await uow.file_transfers.move(transfer.id, FileTransferStatus.FAILED, reason[:8000], now)
        if failed:
            await _tell_sender(uow, TransferEvent.UPLOAD_FAILED, transfer, now)
        await uow.commit()
    if failed:
        services.outbox_written()
    if failed and services.file_store is not None:
        await services.file_store.delete(transfer.id)
    return failed


async def _tell_sender(uow: UnitOfWork, event: TransferEvent, transfer: FileTransfer, at: datetime) -> None:
    await announce(
        uow,
        event,
        resource_id=transfer.resource_id,
        file_transfer_id=transfer.id,
        party=transfer.sender,
        role=SENDER,
        at=at,
    )
