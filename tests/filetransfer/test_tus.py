"""TUS 1.0 as Altinn's collection drives it: OPTIONS, create, HEAD, PATCH (resumed), terminate; a stalled
upload ends Failed."""

from __future__ import annotations

import dataclasses
import io
import os
from datetime import timedelta
from typing import Any

from tests.filetransfer.conftest import BANK, BASE, MEGLER, READ, WRITE, AltinnApi, md5

TUS = "/broker/api/v1/filetransfer/upload/tus"


async def _tus_headers(api: AltinnApi, **extra: str) -> dict[str, str]:
    return {**await api.auth(MEGLER, WRITE), "Tus-Resumable": "1.0.0", **extra}


async def _initialized(api: AltinnApi, data: bytes) -> str:
    created = await api.initialize(MEGLER, [BANK], checksum=md5(data))
    assert created.status == 200, await created.text()
    return str((await created.json())["fileTransferId"])


async def _patch(api: AltinnApi, location: str, offset: int, chunk: bytes) -> Any:
    headers = await _tus_headers(
        api, **{"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
    )
    return await api.client.patch(location, data=io.BytesIO(chunk), headers=headers)


async def test_create_head_patch_resume_and_publish(altinn: AltinnApi) -> None:
    data = os.urandom(2_500_000)
    transfer_id = await _initialized(altinn, data)
    options = await altinn.client.options(f"{TUS}/{transfer_id}", headers={"Tus-Resumable": "1.0.0"})
    assert options.status == 204
    assert options.headers["Tus-Version"] == "1.0.0"
    assert "creation" in options.headers["Tus-Extension"]

    headers = await _tus_headers(altinn, **{"Upload-Length": str(len(data))})
    created = await altinn.client.post(f"{TUS}/{transfer_id}", headers=headers)
    assert created.status == 201, await created.text()
    location = created.headers["Location"]
    assert location == f"{TUS}/{transfer_id}"
    assert (await altinn.overview(MEGLER, transfer_id, WRITE))["fileTransferStatus"] == "UploadStarted"

    first = await _patch(altinn, location, 0, data[:1_000_000])
    assert first.status == 204, await first.text()
    assert first.headers["Upload-Offset"] == "1000000"
    stale = await _patch(altinn, location, 0, data[:10])
    assert stale.status == 409

    head = await altinn.client.head(location, headers=await _tus_headers(altinn))
    assert head.status == 200
    assert head.headers["Upload-Offset"] == "1000000"
    assert head.headers["Upload-Length"] == str(len(data))

    last = await _patch(altinn, location, 1_000_000, data[1_000_000:])
    assert last.status == 204, await last.text()
    assert last.headers["Upload-Offset"] == str(len(data))
    again = await _patch(altinn, location, len(data), b"")
    assert again.status == 204  # a repeated final PATCH is harmless

    seen = await altinn.overview(BANK, transfer_id)
    assert seen["fileTransferStatus"] == "Published"
    assert seen["fileTransferSize"] == len(data)
    download = await altinn.client.get(f"{BASE}/{transfer_id}/download", headers=await altinn.auth(BANK, READ))
    assert await download.read() == data


async def test_terminate_an_incomplete_upload(sqlite_altinn: AltinnApi) -> None:
    api = sqlite_altinn
    data = b"x" * 1000
    transfer_id = await _initialized(api, data)
    created = await api.client.post(
        f"{TUS}/{transfer_id}", headers=await _tus_headers(api, **{"Upload-Length": "1000"})
    )
    location = created.headers["Location"]
    assert (await _patch(api, location, 0, data[:10])).status == 204
    deleted = await api.client.delete(location, headers=await _tus_headers(api))
    assert deleted.status == 204
    seen = await api.overview(MEGLER, transfer_id, WRITE)
    assert seen["fileTransferStatus"] == "Failed"
    assert seen["fileTransferStatusText"] == "The upload was terminated by the sender"
    assert (await api.client.head(location, headers=await _tus_headers(api))).status == 404


async def test_refusals(sqlite_altinn: AltinnApi) -> None:
    api = sqlite_altinn
    transfer_id = await _initialized(api, b"abc")
    no_version = await api.client.post(f"{TUS}/{transfer_id}", headers={**await api.auth(MEGLER, WRITE)})
    assert no_version.status == 412
    assert (await api.configure(maxFileTransferSize=1000)).status == 200
    too_long = await api.client.post(
        f"{TUS}/{transfer_id}", headers=await _tus_headers(api, **{"Upload-Length": "1001"})
    )
    assert too_long.status == 400
    created = await api.client.post(f"{TUS}/{transfer_id}", headers=await _tus_headers(api, **{"Upload-Length": "3"}))
    assert created.status == 201
    twice = await api.client.post(f"{TUS}/{transfer_id}", headers=await _tus_headers(api, **{"Upload-Length": "3"}))
    assert twice.status == 409
    location = created.headers["Location"]
    beyond = await _patch(api, location, 0, b"abcd")
    assert beyond.status == 400
    wrong_type = await api.client.patch(
        location, data=b"a", headers=await _tus_headers(api, **{"Upload-Offset": "0", "Content-Type": "text/plain"})
    )
    assert wrong_type.status == 415
    bank = {**await api.auth(BANK, WRITE), "Tus-Resumable": "1.0.0"}
    assert (await api.client.head(location, headers=bank)).status == 403


async def test_a_stalled_upload_ends_failed(sqlite_altinn: AltinnApi) -> None:
    from broker.usecases.lifecycle import run_lifecycle_once

    api = sqlite_altinn
    transfer_id = await _initialized(api, b"abc")
    created = await api.client.post(f"{TUS}/{transfer_id}", headers=await _tus_headers(api, **{"Upload-Length": "3"}))
    assert (await _patch(api, created.headers["Location"], 0, b"a")).status == 204
    services = api.broker.services
    quiet = await run_lifecycle_once(services)
    assert quiet.transfers_failed == 0
    real_clock = services.clock
    stalled = services.settings.upload_stall_timeout_s + 1
    later = dataclasses.replace(services, clock=lambda: real_clock() + timedelta(seconds=stalled))
    done = await run_lifecycle_once(later)
    assert done.transfers_failed == 1
    seen = await api.overview(MEGLER, transfer_id, WRITE)
    assert seen["fileTransferStatus"] == "Failed"
    assert "stalled" in seen["fileTransferStatusText"]
    assert await services.file_store.size(transfer_id) is None
