"""Altinn's request collection replayed: initialize, upload, overview, details, search, download whole and
by range, confirm, and the multipart initialize+upload; two recipients confirm independently."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from tests.filetransfer.conftest import BANK, BANK_2, BASE, MEGLER, READ, RESOURCE, WRITE, AltinnApi, md5


async def test_whole_flow_with_two_recipients(altinn: AltinnApi) -> None:
    data = os.urandom(300_000)
    initialized = await altinn.initialize(MEGLER, [BANK, BANK_2], checksum=md5(data))
    assert initialized.status == 200, await initialized.text()
    transfer_id = (await initialized.json())["fileTransferId"]

    first = await altinn.overview(MEGLER, transfer_id, WRITE)
    assert first["fileTransferStatus"] == "Initialized"
    assert first["sender"] == f"0192:{MEGLER}"
    assert [r["currentRecipientFileTransferStatusCode"] for r in first["recipients"]] == ["Initialized"] * 2

    uploaded = await altinn.upload(MEGLER, transfer_id, data)
    assert uploaded.status == 200, await uploaded.text()
    assert (await uploaded.json()) == {"fileTransferId": transfer_id}

    seen = await altinn.overview(BANK, transfer_id)
    assert seen["fileTransferStatus"] == "Published"
    assert seen["fileTransferSize"] == len(data)
    assert seen["checksum"] == md5(data)
    assert seen["propertyList"] == {"messageType": "pantedokument"}
    assert seen["resourceId"] == RESOURCE

    bank = await altinn.auth(BANK, READ)
    found = await altinn.client.get(BASE, params={"resourceId": RESOURCE, "status": "Published"}, headers=bank)
    assert await found.json() == [transfer_id]
    as_sender = await altinn.client.get(BASE, params={"resourceId": RESOURCE, "role": "Sender"}, headers=bank)
    assert await as_sender.json() == []

    whole = await altinn.client.get(f"{BASE}/{transfer_id}/download", headers=bank)
    assert whole.status == 200
    assert await whole.read() == data
    ranged = await altinn.client.get(f"{BASE}/{transfer_id}/download", headers={**bank, "Range": "bytes=0-9"})
    assert ranged.status == 206
    assert ranged.headers["Content-Range"] == f"bytes 0-9/{len(data)}"
    assert ranged.headers["Accept-Ranges"] == "bytes"
    assert ranged.headers["Content-Length"] == "10"
    assert await ranged.read() == data[:10]

    confirmed = await altinn.client.post(f"{BASE}/{transfer_id}/confirmdownload", headers=bank)
    assert confirmed.status == 200, await confirmed.text()
    again = await altinn.client.post(f"{BASE}/{transfer_id}/confirmdownload", headers=bank)
    assert again.status == 200
    assert (await altinn.overview(MEGLER, transfer_id))["fileTransferStatus"] == "Published"

    bank_2 = await altinn.auth(BANK_2, READ)
    early = await altinn.client.post(f"{BASE}/{transfer_id}/confirmdownload", headers=bank_2)
    assert early.status == 400  # not downloaded yet
    tail = await altinn.client.get(f"{BASE}/{transfer_id}/download", headers={**bank_2, "Range": "bytes=-5"})
    assert await tail.read() == data[-5:]
    assert (await altinn.client.post(f"{BASE}/{transfer_id}/confirmdownload", headers=bank_2)).status == 200

    details = await altinn.client.get(f"{BASE}/{transfer_id}/details", headers=await altinn.auth(MEGLER, WRITE))
    body = await details.json()
    assert body["fileTransferStatus"] == "AllConfirmedDownloaded"
    assert [e["fileTransferStatus"] for e in body["fileTransferStatusHistory"]] == [
        "Initialized",
        "UploadStarted",
        "UploadProcessing",
        "Published",
        "AllConfirmedDownloaded",
    ]
    per_recipient = [
        (e["recipient"], e["recipientFileTransferStatusCode"]) for e in body["recipientFileTransferStatusHistory"]
    ]
    assert per_recipient == [
        (f"0192:{BANK}", "Initialized"),
        (f"0192:{BANK_2}", "Initialized"),
        (f"0192:{BANK}", "DownloadStarted"),
        (f"0192:{BANK}", "DownloadConfirmed"),
        (f"0192:{BANK_2}", "DownloadStarted"),
        (f"0192:{BANK_2}", "DownloadConfirmed"),
    ]


async def test_multipart_initialize_and_upload(altinn: AltinnApi) -> None:
    import aiohttp

    data = b"PK\x03\x04 not really a zip" * 100
    form = aiohttp.FormData()
    form.add_field("Metadata.FileName", "package.zip")
    form.add_field("Metadata.ResourceId", RESOURCE)
    form.add_field("Metadata.SendersFileTransferReference", "CaseFiles-123")
    form.add_field("Metadata.Sender", f"0192:{MEGLER}")
    form.add_field("Metadata.Recipients", f"urn:altinn:organization:identifier-no:{BANK}")
    form.add_field("Metadata.PropertyList[messageType]", "kjoepekontraktsvar")
    form.add_field("Metadata.Checksum", md5(data))
    form.add_field("Metadata.DisableVirusScan", "false")
    form.add_field("FileTransfer", data, filename="package.zip", content_type="application/octet-stream")
    response = await altinn.client.post(f"{BASE}/upload", data=form, headers=await altinn.auth(MEGLER, WRITE))
    assert response.status == 200, await response.text()
    transfer_id = (await response.json())["fileTransferId"]
    seen = await altinn.overview(BANK, transfer_id)
    assert seen["fileTransferStatus"] == "Published"
    assert seen["propertyList"] == {"messageType": "kjoepekontraktsvar"}
    assert seen["sendersFileTransferReference"] == "CaseFiles-123"
    download = await altinn.client.get(f"{BASE}/{transfer_id}/download", headers=await altinn.auth(BANK, READ))
    assert await download.read() == data


async def test_resource_settings_round_trip(altinn: AltinnApi) -> None:
    # Altinn's collection sends the names in PascalCase; ASP.NET matches them without regard to case.
    put = await altinn.configure(
        "kv_other",
        MaxFileTransferSize=2147483648,
        FileTransferTimeToLive="P30D",
        PurgeFileTransferAfterAllRecipientsConfirmed=True,
        PurgeFileTransferGracePeriod="PT2H",
        UseManifestFileShim=False,
        ExternalServiceCodeLegacy=None,
    )
    assert put.status == 200, await put.text()
    assert await put.read() == b""
    from tests.filetransfer.conftest import KARTVERKET, OWNER

    got = await altinn.client.get("/broker/api/v1/resource/kv_other", headers=await altinn.auth(KARTVERKET, OWNER))
    body = await got.json()
    assert body["maxFileTransferSize"] == 2147483648
    assert body["fileTransferTimeToLive"] == "P30D"
    assert body["purgeFileTransferGracePeriod"] == "PT2H"
    assert body["purgeFileTransferAfterAllRecipientsConfirmed"] is True
    bad = await altinn.configure("kv_other", PurgeFileTransferGracePeriod="PT25H")
    assert bad.status == 400
    assert "24 hours" in (await bad.json())["detail"]


async def test_every_lifecycle_change_is_in_the_event_log(altinn: AltinnApi) -> None:
    from broker.events.event_log import events_of_transfer
    from broker.store.unit_of_work import UnitOfWork

    transfer_id = await altinn.new_transfer(MEGLER, [BANK, BANK_2], b"data")
    for orgnr in (BANK, BANK_2):
        headers = await altinn.auth(orgnr, READ)
        await (await altinn.client.get(f"{BASE}/{transfer_id}/download", headers=headers)).read()
        assert (await altinn.client.post(f"{BASE}/{transfer_id}/confirmdownload", headers=headers)).status == 200
    async with UnitOfWork(altinn.broker.services.engine) as uow:
        to_sender = await events_of_transfer(uow.connection, transfer_id, party=MEGLER)
        to_bank = await events_of_transfer(uow.connection, transfer_id, party=BANK)
    assert [e.type.value.removeprefix("no.altinn.broker.") for e in to_sender] == [
        "filetransferinitialized",
        "uploadprocessing",
        "published",
        "downloadconfirmed",
        "downloadconfirmed",
        "allconfirmeddownloaded",
    ]
    assert [e.type.value.removeprefix("no.altinn.broker.") for e in to_bank] == ["published", "downloadconfirmed"]


async def test_an_expired_transfer_tells_who_never_confirmed(altinn: AltinnApi) -> None:
    import dataclasses
    from datetime import timedelta

    from broker.events.event_log import events_of_transfer
    from broker.store.unit_of_work import UnitOfWork
    from broker.usecases.lifecycle import run_lifecycle_once

    transfer_id = await altinn.new_transfer(MEGLER, [BANK, BANK_2], b"data")
    headers = await altinn.auth(BANK, READ)
    await (await altinn.client.get(f"{BASE}/{transfer_id}/download", headers=headers)).read()
    assert (await altinn.client.post(f"{BASE}/{transfer_id}/confirmdownload", headers=headers)).status == 200
    services = altinn.broker.services
    real_clock = services.clock
    later = dataclasses.replace(services, clock=lambda: real_clock() + timedelta(days=400))
    await run_lifecycle_once(later)
    assert (await altinn.overview(MEGLER, transfer_id))["fileTransferStatus"] == "Purged"

    def names(events: Sequence[Any]) -> list[str]:
        return [e.type.value.removeprefix("no.altinn.broker.") for e in events]

    async with UnitOfWork(services.engine) as uow:
        to_sender = await events_of_transfer(uow.connection, transfer_id, party=MEGLER)
        to_confirmed = await events_of_transfer(uow.connection, transfer_id, party=BANK)
        to_unconfirmed = await events_of_transfer(uow.connection, transfer_id, party=BANK_2)
    assert names(to_sender)[-2:] == ["fileneverconfirmeddownloaded", "filepurged"]
    assert names(to_confirmed) == ["published", "downloadconfirmed"]
    assert names(to_unconfirmed) == ["published", "fileneverconfirmeddownloaded"]
