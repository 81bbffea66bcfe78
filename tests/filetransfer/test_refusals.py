"""Refusals of the file-transfer API: scopes, visibility (404 for others), wrong checksum, oversize, repeats,
and the payload check of a resource that names a schema set."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from broker.domain.payload_check import PayloadError, PayloadReport, PayloadSubject
from tests.filetransfer.conftest import (
    BANK,
    BANK_2,
    BASE,
    KARTVERKET,
    MEGLER,
    READ,
    RESOURCE,
    WRITE,
    AltinnApi,
    md5,
)


async def test_scopes_are_enforced_per_endpoint(sqlite_altinn: AltinnApi) -> None:
    api = sqlite_altinn
    transfer_id = await api.new_transfer(MEGLER, [BANK], b"data")
    read_only = await api.auth(MEGLER, READ)
    body = {"fileName": "a.zip", "resourceId": RESOURCE, "sender": f"0192:{MEGLER}", "recipients": [f"0192:{BANK}"]}
    assert (await api.client.post(BASE, json=body, headers=read_only)).status == 403
    write_only = await api.auth(BANK, WRITE)
    assert (await api.client.get(f"{BASE}/{transfer_id}/download", headers=write_only)).status == 403
    assert (await api.client.get(f"{BASE}/{transfer_id}", headers=write_only)).status == 200
    assert (await api.client.get(f"{BASE}/{transfer_id}")).status == 401
    native = {"Authorization": f"Bearer {await api.broker.token(BANK)}"}  # dsve:send dsve:receive only
    assert (await api.client.get(f"{BASE}/{transfer_id}", headers=native)).status == 403
    owner = await api.auth(MEGLER, READ)
    assert (await api.client.get("/broker/api/v1/resource/kv_dsve", headers=owner)).status == 403


async def test_service_owner_scope_only_for_configured_owners(sqlite_altinn: AltinnApi) -> None:
    from participants.sdk.tokens import JWT_BEARER_GRANT, build_grant_assertion
    from tests.http.conftest import AUDIENCE

    assertion = build_grant_assertion(
        BANK, sqlite_altinn.broker.credential(BANK), AUDIENCE, scope="altinn:serviceowner"
    )
    form = {"grant_type": JWT_BEARER_GRANT, "assertion": assertion}
    assert (await sqlite_altinn.client.post("/token", data=form)).status == 400


async def test_others_see_nothing(sqlite_altinn: AltinnApi) -> None:
    api = sqlite_altinn
    transfer_id = await api.new_transfer(MEGLER, [BANK], b"secret")
    outsider = await api.auth(BANK_2)
    for path in ("", "/details", "/download"):
        response = await api.client.get(f"{BASE}/{transfer_id}{path}", headers=outsider)
        assert response.status == 404, path
    assert (await api.client.post(f"{BASE}/{transfer_id}/confirmdownload", headers=outsider)).status == 404
    found = await api.client.get(BASE, params={"resourceId": RESOURCE}, headers=outsider)
    assert await found.json() == []
    assert (await api.client.get(f"{BASE}/not-a-uuid", headers=outsider)).status == 404


async def test_sender_must_be_the_caller_and_recipients_registered(sqlite_altinn: AltinnApi) -> None:
    api = sqlite_altinn
    body = {"fileName": "a.zip", "resourceId": RESOURCE, "sender": f"0192:{BANK}", "recipients": [f"0192:{MEGLER}"]}
    assert (await api.client.post(BASE, json=body, headers=await api.auth(MEGLER, WRITE))).status == 403
    unknown = await api.initialize(MEGLER, ["974760673"])  # a valid orgnr nobody registered
    assert unknown.status == 403
    bad_party = await api.initialize(MEGLER, ["0192:123"])
    assert bad_party.status == 400
    assert (await api.initialize(MEGLER, [BANK], resource="kv_unknown")).status == 403
    assert (await api.initialize(MEGLER, [BANK], checksum="ABC")).status == 400


async def test_access_list_limits_who_sends_and_receives(sqlite_altinn: AltinnApi) -> None:
    api = sqlite_altinn
    access = [{"party": f"0192:{MEGLER}", "send": True, "receive": False}, {"party": f"0192:{BANK}", "send": False}]
    assert (await api.configure(accessList=access)).status == 200
    assert (await api.initialize(MEGLER, [BANK])).status == 200
    assert (await api.initialize(MEGLER, [BANK_2])).status == 403
    assert (await api.initialize(BANK, [MEGLER])).status == 403
    unregistered = await api.configure(accessList=[{"party": "0192:974760673"}])
    assert unregistered.status == 400


async def test_wrong_checksum_fails_the_transfer(sqlite_altinn: AltinnApi) -> None:
    api = sqlite_altinn
    created = await api.initialize(MEGLER, [BANK], checksum=md5(b"something else"))
    transfer_id = (await created.json())["fileTransferId"]
    uploaded = await api.upload(MEGLER, transfer_id, b"the real content")
    assert uploaded.status == 400
    assert (await uploaded.json())["code"] == "DSVE-8007"
    seen = await api.overview(MEGLER, transfer_id, WRITE)
    assert seen["fileTransferStatus"] == "Failed"
    assert "checksum" in seen["fileTransferStatusText"].lower()
    again = await api.upload(MEGLER, transfer_id, b"the real content")
    assert again.status == 409
    download = await api.client.get(f"{BASE}/{transfer_id}/download", headers=await api.auth(BANK, READ))
    assert download.status == 403


async def test_oversize_upload_is_cut_off_and_fails(sqlite_altinn: AltinnApi) -> None:
    api = sqlite_altinn
    assert (await api.configure(maxFileTransferSize=100_000)).status == 200
    created = await api.initialize(MEGLER, [BANK])
    transfer_id = (await created.json())["fileTransferId"]

    async def endless() -> object:
        for _ in range(50):
            yield os.urandom(64 * 1024)

    headers = {**await api.auth(MEGLER, WRITE), "Content-Type": "application/octet-stream"}
    response = await api.client.post(f"{BASE}/{transfer_id}/upload", data=endless(), headers=headers)
    assert response.status == 400
    assert (await response.json())["code"] == "DSVE-8006"
    assert (await api.overview(MEGLER, transfer_id, WRITE))["fileTransferStatus"] == "Failed"
    store = api.broker.services.file_store
    assert await store.size(transfer_id) is None  # the bytes of a failed transfer are deleted

    declared = await api.initialize(MEGLER, [BANK])
    declared_id = (await declared.json())["fileTransferId"]
    too_big = await api.upload(MEGLER, declared_id, b"x" * 100_001)
    assert too_big.status == 400
    assert (await api.overview(MEGLER, declared_id, WRITE))["fileTransferStatus"] == "Initialized"


class _Refuses:
    def __init__(self) -> None:
        self.subjects: list[PayloadSubject] = []

    async def check(self, subject: PayloadSubject, file: Path) -> PayloadReport:
        self.subjects.append(subject)
        assert file.read_bytes() == b"<bad/>"
        return PayloadReport(
            [
                PayloadError("element bad is not expected", file="melding.xml", line=1, column=1, path="/bad"),
                PayloadError("messageType is missing from the manifest"),
            ]
        )


async def test_a_payload_that_breaks_its_schema_set_fails_and_is_never_published(sqlite_altinn: AltinnApi) -> None:
    api = sqlite_altinn
    validator = _Refuses()
    # The running app's Services is frozen (built once by create_app); the test swaps a refusing validator in.
    object.__setattr__(api.broker.services, "payload_validator", validator)
    assert (await api.configure(schemaSet="dsve")).status == 200
    created = await api.initialize(MEGLER, [BANK])
    transfer_id = (await created.json())["fileTransferId"]
    uploaded = await api.upload(MEGLER, transfer_id, b"<bad/>")
    assert uploaded.status == 400
    problem = await uploaded.json()
    assert problem["code"] == "DSVE-8008"
    assert problem["errors"][0]["file"] == "melding.xml" and problem["errors"][0]["path"] == "/bad"
    assert len(problem["errors"]) == 2
    assert validator.subjects[0].schema_set == "dsve" and validator.subjects[0].recipients == [BANK]
    seen = await api.overview(MEGLER, transfer_id, WRITE)
    assert seen["fileTransferStatus"] == "Failed"
    assert "element bad is not expected" in seen["fileTransferStatusText"]
    assert "messageType is missing" in seen["fileTransferStatusText"]
    bank = await api.auth(BANK, READ)
    assert (await api.client.get(f"{BASE}/{transfer_id}/download", headers=bank)).status == 403

    assert (await api.configure(schemaSet="")).status == 200  # no schema set: published unchecked
    assert await api.new_transfer(MEGLER, [BANK], b"<bad/>")
    assert KARTVERKET  # the service owner configured both


async def test_a_stalled_streamed_upload_is_cut_off(aiohttp_client: Any, tmp_path: Path, test_pki: Any) -> None:
    """A long body is fine while bytes keep coming; one that stops for the body timeout ends Failed (408)."""
    import asyncio

    import aiohttp

    from tests.filetransfer.conftest import start_altinn

    api = await start_altinn(
        aiohttp_client, tmp_path, test_pki, f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", body_timeout_s=1.0
    )
    created = await api.initialize(MEGLER, [BANK])
    transfer_id = (await created.json())["fileTransferId"]

    async def slow_then_stalled() -> Any:
        for _ in range(3):  # 1.5 s in all: longer than the timeout, but never idle that long
            yield b"x" * 1000
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)
        yield b"too late"

    headers = {**await api.auth(MEGLER, WRITE), "Content-Type": "application/octet-stream"}
    try:
        response = await api.client.post(f"{BASE}/{transfer_id}/upload", data=slow_then_stalled(), headers=headers)
        assert response.status == 408
    except aiohttp.ClientError:
        pass  # the broker may close the connection before the client finished sending
    seen = await api.overview(MEGLER, transfer_id, WRITE)
    assert seen["fileTransferStatus"] == "Failed"


async def test_json_nested_deeper_than_the_parser_goes_is_400_not_500(sqlite_altinn: AltinnApi) -> None:
    """A few kilobytes of '[' made json.loads raise RecursionError, which no handler caught; the webhook
    subscriptions' body had the same gap (both found looking for siblings of a fuzz finding)."""
    api = sqlite_altinn
    deep = b"[" * 5000
    json_type = {"Content-Type": "application/json"}
    initialize = await api.client.post(BASE, data=deep, headers={**await api.auth(MEGLER, WRITE), **json_type})
    assert initialize.status == 400, await initialize.text()
    owner = {**await api.auth(KARTVERKET, "altinn:serviceowner"), **json_type}
    configure = await api.client.put(f"/broker/api/v1/resource/{RESOURCE}", data=deep, headers=owner)
    assert configure.status == 400, await configure.text()
    subscribe = await api.client.post(
        "/events/api/v1/subscriptions", data=deep, headers={**await api.auth(MEGLER, WRITE), **json_type}
    )
    assert subscribe.status == 400, await subscribe.text()


async def test_the_one_request_form_needs_multipart_form_data(sqlite_altinn: AltinnApi) -> None:
    """The media type is read before the first ``;`` and in any case; anything else is 415."""
    api = sqlite_altinn
    headers = await api.auth(MEGLER, WRITE)
    refused = ("application/octet-stream", "multipart/mixed; boundary=x", "text/plain; a=multipart/form-data")
    for content_type in refused:
        response = await api.client.post(f"{BASE}/upload", data=b"x", headers={**headers, "Content-Type": content_type})
        assert response.status == 415, content_type
    data = b"a small file"
    fields = {
        "Metadata.FileName": "a.bin",
        "Metadata.ResourceId": RESOURCE,
        "Metadata.Sender": f"0192:{MEGLER}",
        "Metadata.Recipients": f"0192:{BANK}",
    }
    parts = [f'--b1\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    parts.append(
        b'--b1\r\nContent-Disposition: form-data; name="FileTransfer"; filename="a.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n--b1--\r\n"
    )
    form_type = ' Multipart/Form-Data ; boundary="b1"'
    response = await api.client.post(
        f"{BASE}/upload", data=b"".join(parts), headers={**headers, "Content-Type": form_type}
    )
    assert response.status == 200, await response.text()
    transfer_id = (await response.json())["fileTransferId"]
    download = await api.client.get(f"{BASE}/{transfer_id}/download", headers=await api.auth(BANK, READ))
    assert await download.read() == data
