"""Publishing a checked transfer: ``Published``, and one notice per recipient on its own queue.

The notices go through the transactional outbox like native messages (routing key ``<recipient>.filetransfer``
on the messages exchange, so each recipient's inbox queue gets its own), committed with the status change:
a transfer is announced if and only if it was published. A notice carries the transfer's metadata; the
recipient downloads the file over HTTP.
"""

from __future__ import annotations

import json
from datetime import datetime

from broker.domain.errors import Error, Refusal
from broker.domain.file_transfers import STATUS_TEXT, FileTransfer, FileTransferStatus, party
from broker.events.altinn_event import AltinnEvent
from broker.routing.transport import (
    HEADER_MESSAGE_TYPE,
    HEADER_RECIPIENT,
    HEADER_SENDER,
    HEADER_SENDER_REFERENCE,
    JSON_CONTENT_TYPE,
)
from broker.store.outbox_kind import OutboxKind
from broker.store.outbox_repository import OutboxEntry
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.file_transfers.events import RECIPIENT, SENDER, TransferEvent, announce_events, transfer_events
from broker.usecases.services import Services

NOTICE_TYPE = "filetransfer"


def notice_body(transfer: FileTransfer, recipient: str) -> bytes:
    body = {
        "type": TransferEvent.PUBLISHED.value,
        "fileTransferId": transfer.id,
        "resourceId": transfer.resource_id,
        "fileName": transfer.file_name,
        "sendersFileTransferReference": transfer.senders_reference,
        "sender": party(transfer.sender),
        "recipient": party(recipient),
        "fileTransferSize": transfer.size,
        "checksum": transfer.checksum,
        "propertyList": dict(transfer.properties),
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def notice(transfer: FileTransfer, recipient: str) -> OutboxEntry:
    headers = {
        HEADER_MESSAGE_TYPE: NOTICE_TYPE,
        HEADER_SENDER: transfer.sender,
        HEADER_RECIPIENT: recipient,
        "content-type": JSON_CONTENT_TYPE,
    }
    if transfer.senders_reference:
        headers[HEADER_SENDER_REFERENCE] = transfer.senders_reference[:200]
    return OutboxEntry(
        OutboxKind.NOTICE, transfer.id, f"{recipient}.{NOTICE_TYPE}", headers, notice_body(transfer, recipient)
    )


def published_step(transfer: FileTransfer, now: datetime) -> tuple[list[AltinnEvent], list[OutboxEntry]]:
    """What publishing ``transfer`` tells: the ``published`` event for its sender and each recipient, and
    each recipient's notice on its own queue."""
    parties = [(transfer.sender, SENDER), *((r.orgnr, RECIPIENT) for r in transfer.recipients)]
    events = transfer_events(
        TransferEvent.PUBLISHED,
        resource_id=transfer.resource_id,
        file_transfer_id=transfer.id,
        parties=parties,
        at=now,
    )
    return events, [notice(transfer, r.orgnr) for r in transfer.recipients]


async def publish_transfer(services: Services, transfer_id: str) -> None:
    """Publish a transfer whose payload was checked after its ``UploadProcessing`` step committed."""
    now = services.clock()
    async with UnitOfWork(services.engine) as uow:
        published = await uow.file_transfers.move(
            transfer_id, FileTransferStatus.PUBLISHED, STATUS_TEXT[FileTransferStatus.PUBLISHED], now
        )
        transfer = await uow.file_transfers.get(transfer_id)
        if not published or transfer is None:
            raise Refusal(Error.UPLOAD_FAILED, "the file transfer was ended before it could be published")
        events, notices = published_step(transfer, now)
        await announce_events(uow, events, also=notices)
        await uow.commit()
    services.outbox_written()
