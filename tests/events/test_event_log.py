"""The event log: events commit with the caller's transaction, and read back as Altinn's CloudEvents."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.events.altinn_event import AltinnEvent, AltinnEventType, SubjectRole, from_cloud_event, party_orgnr
from broker.events.event_log import append_event, events_of_transfer
from broker.store.unit_of_work import UnitOfWork
from tests.events.conftest import RECIPIENT, SENDER

T0 = datetime(2026, 12, 6, 12, 0, 0, 123000, tzinfo=UTC)


async def test_an_event_commits_with_the_callers_transaction(engine: AsyncEngine) -> None:
    transfer = str(uuid.uuid4())
    async with UnitOfWork(engine) as uow:
        await append_event(
            uow, "filetransferinitialized", resource_id="kv_dsve", file_transfer_id=transfer, party=SENDER
        )
        await append_event(
            uow.connection,
            AltinnEventType.PUBLISHED,
            resource_id="kv_dsve",
            file_transfer_id=transfer,
            party=f"0192:{RECIPIENT}",
            role=SubjectRole.RECIPIENT,
        )
        # rolled back: never committed, so never told
    async with engine.connect() as conn:
        assert await events_of_transfer(conn, transfer) == []

    async with UnitOfWork(engine) as uow:
        first = await append_event(
            uow,
            AltinnEventType.FILE_TRANSFER_INITIALIZED,
            resource_id="kv_dsve",
            file_transfer_id=transfer,
            party=SENDER,
            role="Sender",
            at=T0,
        )
        second = await append_event(
            uow,
            "no.altinn.broker.published",
            resource_id="kv_dsve",
            file_transfer_id=uuid.UUID(transfer),
            party=f"urn:altinn:organization:identifier-no:{RECIPIENT}",
            role=SubjectRole.RECIPIENT,
        )
        await uow.commit()
    async with engine.connect() as conn:
        stored = await events_of_transfer(conn, transfer)
        for_recipient = await events_of_transfer(conn, transfer, party=RECIPIENT)
    assert [e.id for e in stored] == [first.id, second.id]
    assert [e.type for e in stored] == [AltinnEventType.FILE_TRANSFER_INITIALIZED, AltinnEventType.PUBLISHED]
    assert [e.party for e in stored] == [SENDER, RECIPIENT]
    assert stored[0].time == T0
    assert stored[0].seq is not None and stored[1].seq is not None and stored[0].seq < stored[1].seq
    assert [e.id for e in for_recipient] == [second.id]


def test_the_cloud_event_has_altinns_shape() -> None:
    event = AltinnEvent(
        type=AltinnEventType.DOWNLOAD_CONFIRMED,
        resource_id="kv_dsve",
        file_transfer_id="f-1",
        party=SENDER,
        role=SubjectRole.SENDER,
        time=T0,
        id="e-1",
    )
    envelope = event.cloud_event()
    assert envelope == {
        "specversion": "1.0",
        "id": "e-1",
        "source": "/broker/api/v1/filetransfer",
        "type": "no.altinn.broker.downloadconfirmed",
        "time": "2026-12-06T12:00:00.123000Z",
        "subject": f"/organisation/{SENDER}",
        "resource": "urn:altinn:resource:kv_dsve",
        "resourceinstance": "f-1",
        "datacontenttype": "application/json",
        "data": {"Role": "Sender"},
    }
    assert from_cloud_event(envelope) == event


def test_every_altinn_event_type_is_known() -> None:
    assert {t.short_name for t in AltinnEventType} == {
        "filetransferinitialized",
        "uploadprocessing",
        "published",
        "uploadfailed",
        "downloadconfirmed",
        "allconfirmeddownloaded",
        "filepurged",
        "fileneverconfirmeddownloaded",
    }


@pytest.mark.parametrize("party", ["91000000", "0192:91000000x", "urn:altinn:person:identifier-no:01010112345", ""])
def test_a_party_that_is_no_organisation_is_refused(party: str) -> None:
    with pytest.raises(ValueError):
        party_orgnr(party)


async def test_an_unknown_event_type_is_refused(engine: AsyncEngine) -> None:
    async with UnitOfWork(engine) as uow:
        with pytest.raises(ValueError):
            await append_event(uow, "filedeleted2", resource_id="r", file_transfer_id="f", party=SENDER)
