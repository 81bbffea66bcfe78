"""Telling the parties of a transfer about its lifecycle, in the transaction of the change itself.

Every lifecycle change appends the Altinn event for each party it concerns (the sender, or a recipient)
through ``announce`` to the event log (``broker.events``), in the caller's unit of work: an event exists if
and only if its change committed.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime

from broker.events.altinn_event import AltinnEvent, AltinnEventType, SubjectRole
from broker.events.event_log import append_event, append_events
from broker.store.outbox_repository import OutboxEntry
from broker.store.unit_of_work import UnitOfWork


class TransferEvent(enum.StrEnum):
    INITIALIZED = "no.altinn.broker.filetransferinitialized"
    UPLOAD_PROCESSING = "no.altinn.broker.uploadprocessing"
    PUBLISHED = "no.altinn.broker.published"
    UPLOAD_FAILED = "no.altinn.broker.uploadfailed"
    DOWNLOAD_CONFIRMED = "no.altinn.broker.downloadconfirmed"
    ALL_CONFIRMED_DOWNLOADED = "no.altinn.broker.allconfirmeddownloaded"
    FILE_PURGED = "no.altinn.broker.filepurged"
    NEVER_CONFIRMED_DOWNLOADED = "no.altinn.broker.fileneverconfirmeddownloaded"


SENDER = "Sender"
RECIPIENT = "Recipient"


async def announce(
    uow: UnitOfWork,
    event: TransferEvent,
    *,
    resource_id: str,
    file_transfer_id: str,
    party: str,
    role: str,
    at: datetime,
) -> None:
    """Append one event for one party (an orgnr) to the event log, in ``uow``'s transaction; its outbox row
    goes out once the transaction commits (the caller wakes the relay)."""
    await append_event(
        uow, event.value, resource_id=resource_id, file_transfer_id=file_transfer_id, party=party, role=role, at=at
    )


def transfer_events(
    event: TransferEvent,
    *,
    resource_id: str,
    file_transfer_id: str,
    parties: Sequence[tuple[str, str]],
    at: datetime,
) -> list[AltinnEvent]:
    """One event for each (orgnr, role) of ``parties``, for ``announce_events``."""
    return [
        AltinnEvent(
            type=AltinnEventType(event.value),
            resource_id=resource_id,
            file_transfer_id=file_transfer_id,
            party=orgnr,
            role=SubjectRole(role),
            time=at,
        )
        for orgnr, role in parties
    ]


async def announce_events(uow: UnitOfWork, events: Sequence[AltinnEvent], *, also: Sequence[OutboxEntry] = ()) -> None:
    """Append ``events`` (of one step or several) and queue ``also`` with them, in one round trip."""
    await append_events(uow, events, also=also)


async def announce_all(
    uow: UnitOfWork,
    event: TransferEvent,
    *,
    resource_id: str,
    file_transfer_id: str,
    parties: Sequence[tuple[str, str]],
    at: datetime,
) -> None:
    """One event for each (orgnr, role) of ``parties``, appended in one round trip (a published transfer tells
    its sender and every recipient)."""
    await append_events(
        uow,
        transfer_events(event, resource_id=resource_id, file_transfer_id=file_transfer_id, parties=parties, at=at),
    )
