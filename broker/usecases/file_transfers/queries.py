"""Reading transfers: one overview, its details with histories, and the search (ids, as Altinn answers)."""

from __future__ import annotations

from dataclasses import dataclass

from broker.domain.errors import Error, Refusal
from broker.domain.file_transfers import FileTransfer, RecipientEvent, StatusEvent
from broker.store.file_transfer_repository import TransferSearch
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.file_transfers.visibility import visible_transfer
from broker.usecases.services import Services


@dataclass(frozen=True, slots=True)
class TransferDetails:
    transfer: FileTransfer
    history: list[StatusEvent]
    recipient_history: list[RecipientEvent]


async def transfer_overview(services: Services, caller: str, transfer_id: str) -> FileTransfer:
    async with UnitOfWork(services.engine) as uow:
        return await visible_transfer(uow, transfer_id, caller)


async def transfer_details(services: Services, caller: str, transfer_id: str) -> TransferDetails:
    """The overview with the append-only histories; a recipient sees its own recipient history only."""
    async with UnitOfWork(services.engine) as uow:
        transfer = await visible_transfer(uow, transfer_id, caller)
        history, recipient_history = await uow.file_transfers.histories(transfer.id)
    if caller != transfer.sender:
        recipient_history = [e for e in recipient_history if e.recipient == caller]
    return TransferDetails(transfer, history, recipient_history)


async def search_transfers(services: Services, search: TransferSearch) -> list[str]:
    if not search.resource_id:
        raise Refusal(Error.FILE_TRANSFER_INVALID, "resourceId is required")
    async with UnitOfWork(services.engine) as uow:
        if await uow.resources.get(search.resource_id) is None:
            raise Refusal(Error.RESOURCE_NOT_CONFIGURED, f"the resource {search.resource_id} is not configured")
        return await uow.file_transfers.search(search)
