"""Which transfers a caller may see: its own as sender or recipient; any other is "not found" (404), so
nobody learns that another organisation's transfer exists."""

from __future__ import annotations

import uuid

from broker.domain.errors import Error, Refusal
from broker.domain.file_transfers import FileTransfer
from broker.store.unit_of_work import UnitOfWork

NOT_FOUND_TEXT = "The requested file transfer was not found"


def _not_found() -> Refusal:
    return Refusal(Error.FILE_TRANSFER_NOT_FOUND, NOT_FOUND_TEXT)


async def visible_transfer(uow: UnitOfWork, transfer_id: str, caller: str, *, for_update: bool = False) -> FileTransfer:
    """``for_update``: the transfer's row stays locked until the transaction ends (``FileTransferRepository.get``)."""
    valid = _is_uuid(transfer_id)
    transfer = await uow.file_transfers.get(transfer_id, for_update=for_update) if valid else None
    return visible(transfer, caller)


def visible(transfer: FileTransfer | None, caller: str) -> FileTransfer:
    """``transfer`` (as read) if the caller is one of its parties; else "not found"."""
    if transfer is None or not transfer.is_party(caller):
        raise _not_found()
    return transfer


def received(transfer: FileTransfer | None, caller: str) -> FileTransfer:
    """``transfer`` (as read) if the caller is one of its recipients; else "not found" or "not a recipient"."""
    found = visible(transfer, caller)
    if not found.is_recipient(caller):
        raise Refusal(Error.NOT_RECIPIENT, "only a recipient of the file transfer may do this")
    return found


def is_transfer_id(value: str) -> bool:
    """Whether ``value`` can name a transfer at all (a UUID in its canonical form): no read for one that cannot."""
    return _is_uuid(value)


async def sender_transfer(uow: UnitOfWork, transfer_id: str, caller: str) -> FileTransfer:
    return sent_by(await visible_transfer(uow, transfer_id, caller), caller)


def sent_by(transfer: FileTransfer | None, caller: str) -> FileTransfer:
    """``transfer`` (as read) if the caller sent it; else "not found" or "not the sender"."""
    found = visible(transfer, caller)
    if found.sender != caller:
        raise Refusal(Error.SENDER_NOT_CALLER, "only the sender of a file transfer may upload its file")
    return found


async def recipient_transfer(
    uow: UnitOfWork, transfer_id: str, caller: str, *, for_update: bool = False
) -> FileTransfer:
    return received(await visible_transfer(uow, transfer_id, caller, for_update=for_update), caller)


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False
