"""Initializing a file transfer: its metadata, sender and recipients, before any byte is uploaded."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from broker.domain.errors import Error, Refusal
from broker.domain.file_transfers import (
    RECIPIENT_STATUS_TEXT,
    STATUS_TEXT,
    FileTransferStatus,
    RecipientStatus,
    ResourceSettings,
    checksum_problem,
    parse_party,
    property_list_problem,
)
from broker.store.file_transfer_repository import NewFileTransfer
from broker.store.transfer_steps import add_announced
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.file_transfers.cached_reads import participants_of, resource_of
from broker.usecases.file_transfers.events import SENDER, TransferEvent, transfer_events
from broker.usecases.file_transfers.units import one_write_unit
from broker.usecases.services import Services

MAX_RECIPIENTS = 100


@dataclass(frozen=True, slots=True)
class InitializeRequest:
    """What the sender states about a transfer (Altinn's ``FileTransferInitalizeExt``)."""

    file_name: str
    resource_id: str
    sender: str
    recipients: Sequence[str]
    senders_reference: str = ""
    properties: Mapping[str, str] = field(default_factory=dict)
    checksum: str | None = None


def _invalid(detail: str) -> Refusal:
    return Refusal(Error.FILE_TRANSFER_INVALID, detail)


def _checked_parties(request: InitializeRequest, caller: str) -> tuple[str, list[str]]:
    if not 1 <= len(request.file_name) <= 255 or any(c in request.file_name for c in "/\\\0"):
        raise _invalid("fileName must be 1 to 255 characters, without a path")
    if not 1 <= len(request.resource_id) <= 255:
        raise _invalid("resourceId must be 1 to 255 characters")
    if len(request.senders_reference) > 4096:
        raise _invalid("sendersFileTransferReference may be at most 4096 characters")
    sender = parse_party(request.sender)
    if sender is None:
        raise _invalid(
            "Organization numbers should be on the form countrycode:organizationnumber, for instance 0192:910753614"
        )
    if sender != caller:
        raise Refusal(Error.SENDER_NOT_CALLER, "the sender must be the organisation the token was issued to")
    if not request.recipients:
        raise _invalid("One or more recipients are required")
    if len(request.recipients) > MAX_RECIPIENTS:
        raise _invalid(f"at most {MAX_RECIPIENTS} recipients")
    recipients: list[str] = []
    for written in request.recipients:
        orgnr = parse_party(written)
        if orgnr is None:
            raise _invalid(
                "Each recipient should be on the form countrycode:organizationnumber, for instance 0192:910753614"
            )
        if orgnr not in recipients:
            recipients.append(orgnr)
    problem = property_list_problem(request.properties) or checksum_problem(request.checksum)
    if problem:
        raise _invalid(problem)
    return sender, recipients


async def _check_access(
    services: Services, uow: UnitOfWork, resource: ResourceSettings, sender: str, recipients: list[str]
) -> None:
    known = await participants_of(services, uow, [sender, *recipients])
    if not resource.may_send(sender) or sender not in known or not known[sender].active:
        raise Refusal(Error.NO_ACCESS_TO_RESOURCE, f"the sender may not send on the resource {resource.resource_id}")
    for recipient in recipients:
        participant = known.get(recipient)
        if participant is None or not participant.active or not resource.may_receive(recipient):
            raise Refusal(
                Error.NO_ACCESS_TO_RESOURCE,
                f"the recipient 0192:{recipient} may not receive on the resource {resource.resource_id}",
            )


async def initialize_transfer(services: Services, caller: str, request: InitializeRequest) -> str:
    """Store a new transfer (``Initialized``, each recipient ``Initialized``) and answer its id."""
    sender, recipients = _checked_parties(request, caller)
    now = services.clock()
    transfer_id = str(uuid.uuid4())
    # The reads (usually answered by the registry cache) and one statement: on PostgreSQL a kept autocommit
    # connection, so the request costs one round trip.
    async with one_write_unit(services) as uow:
        resource = await resource_of(services, uow, request.resource_id)
        if resource is None:
            raise Refusal(
                Error.RESOURCE_NOT_CONFIGURED,
                f"the resource {request.resource_id} is not configured for the broker",
            )
        await _check_access(services, uow, resource, sender, recipients)
        new = NewFileTransfer(
            id=transfer_id,
            resource_id=resource.resource_id,
            file_name=request.file_name,
            senders_reference=request.senders_reference,
            sender=sender,
            properties=dict(request.properties),
            checksum=request.checksum or None,
            recipients=recipients,
            status_text=STATUS_TEXT[FileTransferStatus.INITIALIZED],
            recipient_status_text=RECIPIENT_STATUS_TEXT[RecipientStatus.INITIALIZED],
            created_at=now,
            expires_at=now + resource.time_to_live,
        )
        events = transfer_events(
            TransferEvent.INITIALIZED,
            resource_id=resource.resource_id,
            file_transfer_id=transfer_id,
            parties=[(sender, SENDER)],
            at=now,
        )
        await add_announced(uow.connection, new, events, now)
        await uow.commit()
    services.outbox_written()
    return transfer_id
