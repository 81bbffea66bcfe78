"""The lifecycle of file transfers: stalled uploads fail, expired transfers and those confirmed by every
recipient (after the resource's grace period) are purged, their bytes deleted.

Each step is a conditional move in the store, so several broker processes may run it: a transfer moves once,
and only the process that moved it deletes the bytes and appends the events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from broker.domain.file_transfers import STATUS_TEXT, FileTransfer, FileTransferStatus, RecipientStatus
from broker.store.tables import file_transfers
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.file_transfers.events import RECIPIENT, SENDER, TransferEvent, announce, announce_all
from broker.usecases.file_transfers.upload import fail_transfer
from broker.usecases.services import Services

BATCH = 200
_NOT_ENDED = [s for s in FileTransferStatus if s not in (FileTransferStatus.PURGED,)]
STALLED_TEXT = "The upload stalled: no bytes arrived for {0} seconds"


@dataclass(frozen=True, slots=True)
class TransferPass:
    failed: int
    purged: int


async def _stalled(services: Services, now: datetime) -> list[FileTransfer]:
    cutoff = now - timedelta(seconds=services.settings.upload_stall_timeout_s)
    async with UnitOfWork(services.engine) as uow:
        rows = await uow.connection.execute(
            sa.select(file_transfers.c.id)
            .where(
                file_transfers.c.status == FileTransferStatus.UPLOAD_STARTED.value,
                file_transfers.c.upload_activity_at < cutoff,
            )
            .limit(BATCH)
        )
        found = [await uow.file_transfers.get(row.id) for row in rows]
    return [t for t in found if t is not None]


async def _purge(services: Services, transfer_id: str, now: datetime, reason: str) -> bool:
    async with UnitOfWork(services.engine) as uow:
        transfer = await uow.file_transfers.get(transfer_id)
        if transfer is None:
            return False
        if not await uow.file_transfers.move(transfer.id, FileTransferStatus.PURGED, reason, now):
            return False
        if transfer.status is FileTransferStatus.PUBLISHED:
            unconfirmed = [r for r in transfer.recipients if r.status is not RecipientStatus.DOWNLOAD_CONFIRMED]
            if unconfirmed:
                await announce_all(
                    uow,
                    TransferEvent.NEVER_CONFIRMED_DOWNLOADED,
                    parties=[(transfer.sender, SENDER), *((r.orgnr, RECIPIENT) for r in unconfirmed)],
                    resource_id=transfer.resource_id,
                    file_transfer_id=transfer.id,
                    at=now,
                )
        await announce(
            uow,
            TransferEvent.FILE_PURGED,
            party=transfer.sender,
            role=SENDER,
            resource_id=transfer.resource_id,
            file_transfer_id=transfer.id,
            at=now,
        )
        await uow.commit()
    services.outbox_written()
    if services.file_store is not None:
        await services.file_store.delete(transfer_id)
    return True


async def run_transfer_lifecycle_once(services: Services) -> TransferPass:
    now = services.clock()
    failed = 0
    for transfer in await _stalled(services, now):
        text = STALLED_TEXT.format(services.settings.upload_stall_timeout_s)
        failed += await fail_transfer(services, transfer, text)
    async with UnitOfWork(services.engine) as uow:
        confirmed = await uow.file_transfers.due([FileTransferStatus.ALL_CONFIRMED_DOWNLOADED], "purge_at", now, BATCH)
        expired = await uow.file_transfers.due(_NOT_ENDED, "expires_at", now, BATCH)
    purged = 0
    for transfer_id in confirmed:
        purged += await _purge(services, transfer_id, now, STATUS_TEXT[FileTransferStatus.PURGED])
    for transfer_id in expired:
        purged += await _purge(services, transfer_id, now, "The file transfer expired (its time to live ended)")
    return TransferPass(failed, purged)
