"""A recipient confirms its download; when every recipient has, the transfer is ``AllConfirmedDownloaded``
and, if the resource says so, its purge is due after the grace period."""

from __future__ import annotations

from datetime import datetime

from broker.domain.errors import Error, Refusal
from broker.domain.file_transfers import (
    RECIPIENT_STATUS_TEXT,
    STATUS_TEXT,
    FileTransfer,
    FileTransferStatus,
    RecipientStatus,
)
from broker.events.altinn_event import AltinnEvent
from broker.store.transfer_steps import confirm_sole_recipient
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.file_transfers.cached_reads import resource_of
from broker.usecases.file_transfers.events import RECIPIENT, SENDER, TransferEvent, announce_events, transfer_events
from broker.usecases.file_transfers.units import one_write_unit
from broker.usecases.file_transfers.visibility import recipient_transfer
from broker.usecases.services import Services


def _confirmable(transfer: FileTransfer, caller: str) -> bool:
    """False when the caller confirmed already (a second confirm changes nothing); a refusal when it may not."""
    mine = transfer.recipient(caller)
    assert mine is not None
    if mine.status is RecipientStatus.DOWNLOAD_CONFIRMED:
        return False
    if transfer.status is not FileTransferStatus.PUBLISHED:
        raise Refusal(
            Error.NOT_PUBLISHED,
            "A file transfer can only be confirmed to be downloaded when it is published. See file transfer status.",
        )
    if mine.status is not RecipientStatus.DOWNLOAD_STARTED:
        raise Refusal(Error.CONFIRM_BEFORE_DOWNLOAD, "Cannot confirm before the files have been downloaded")
    return True


def _confirmed_events(transfer: FileTransfer, caller: str, now: datetime) -> list[AltinnEvent]:
    return transfer_events(
        TransferEvent.DOWNLOAD_CONFIRMED,
        resource_id=transfer.resource_id,
        file_transfer_id=transfer.id,
        parties=[(caller, RECIPIENT), (transfer.sender, SENDER)],
        at=now,
    )


def _all_confirmed_events(transfer: FileTransfer, now: datetime) -> list[AltinnEvent]:
    return transfer_events(
        TransferEvent.ALL_CONFIRMED_DOWNLOADED,
        resource_id=transfer.resource_id,
        file_transfer_id=transfer.id,
        parties=[(transfer.sender, SENDER)],
        at=now,
    )


async def confirm_download(services: Services, caller: str, transfer_id: str) -> None:
    """Idempotent: a second confirm by the same recipient changes nothing.

    A transfer's only recipient (the common case) confirms in one statement on PostgreSQL, on a kept autocommit
    connection: its step, the transfer's ``AllConfirmedDownloaded`` and the events of both, each guarded by
    the conditional UPDATE before it. With several recipients, whether this confirm is the last needs the
    transfer's row locked (``_confirm_one_of_several``)."""
    now = services.clock()
    kept = services.connections is not None and services.connections.autocommit
    if kept and await _confirm_sole(services, caller, transfer_id, now):
        return
    await _confirm_one_of_several(services, caller, transfer_id, now)


async def _confirm_sole(services: Services, caller: str, transfer_id: str, now: datetime) -> bool:
    """True when answered here; False when the locked path must answer: several recipients, or the step was
    made meanwhile (a second confirm at the same moment, or the transfer left ``Published``)."""
    async with one_write_unit(services) as uow:
        transfer = await recipient_transfer(uow, transfer_id, caller)
        if not _confirmable(transfer, caller):
            return True
        if len(transfer.recipients) != 1:
            return False
        resource = await resource_of(services, uow, transfer.resource_id)
        purge_at = None
        if resource is not None and resource.purge_after_all_confirmed:
            purge_at = now + resource.purge_grace_period
        moved, _ = await confirm_sole_recipient(
            uow.connection,
            transfer.id,
            caller,
            now,
            purge_at,
            _confirmed_events(transfer, caller, now),
            _all_confirmed_events(transfer, now),
        )
        await uow.commit()
    if moved:
        services.outbox_written()
    return moved


async def _confirm_one_of_several(services: Services, caller: str, transfer_id: str, now: datetime) -> None:
    async with UnitOfWork(services.engine) as uow:
        transfer = await recipient_transfer(uow, transfer_id, caller, for_update=True)
        if not _confirmable(transfer, caller):
            return
        moved = await uow.file_transfers.move_recipient(
            transfer.id,
            caller,
            RecipientStatus.DOWNLOAD_CONFIRMED,
            RECIPIENT_STATUS_TEXT[RecipientStatus.DOWNLOAD_CONFIRMED],
            now,
        )
        if not moved:
            return
        events = _confirmed_events(transfer, caller, now)
        # Read again after the write: on PostgreSQL the row lock above orders concurrent confirms (the read that
        # took it may have seen the recipients as of before the lock was granted); on SQLite the write took the
        # database's lock, so this read sees every confirm committed before it.
        fresh = await uow.file_transfers.get(transfer.id) or transfer
        if all(r.status is RecipientStatus.DOWNLOAD_CONFIRMED for r in fresh.recipients):
            resource = await resource_of(services, uow, transfer.resource_id)
            purge_at = None
            if resource is not None and resource.purge_after_all_confirmed:
                purge_at = now + resource.purge_grace_period
            done = await uow.file_transfers.move(
                transfer.id,
                FileTransferStatus.ALL_CONFIRMED_DOWNLOADED,
                STATUS_TEXT[FileTransferStatus.ALL_CONFIRMED_DOWNLOADED],
                now,
                values={"purge_at": purge_at},
            )
            if done:
                events += _all_confirmed_events(transfer, now)
        await announce_events(uow, events)
        await uow.commit()
    services.outbox_written()
