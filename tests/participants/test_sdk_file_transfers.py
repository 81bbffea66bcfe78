"""The SDK's file-transfer client, written from Altinn's public contract, against the running broker: a
Maskinporten-style grant with ``kid`` exchanged for an Altinn token, then the whole flow of a transfer."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from broker.auth.clients import RegisteredClient
from broker.store.unit_of_work import UnitOfWork
from broker.xml.pki import TestPki
from participants.sdk.errors import BrokerError
from participants.sdk.file_transfer_client import TUS_VERSION, FileTransferClient
from participants.sdk.maskinporten import AltinnTokenSource
from tests.filetransfer.conftest import BANK, BANK_2, MEGLER, RESOURCE, AltinnApi, md5, start_altinn


@pytest.fixture
async def altinn(database_url: str, aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> AltinnApi:
    """The broker with its file-transfer API, on SQLite and on PostgreSQL."""
    return await start_altinn(aiohttp_client, tmp_path, test_pki, database_url)


async def sdk_client(api: AltinnApi, orgnr: str) -> FileTransferClient:
    """A participant system registered as a Maskinporten client (its own key, its own kid)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    client_id, kid = str(uuid.uuid4()), f"{orgnr}-{uuid.uuid4().hex[:8]}"
    async with UnitOfWork(api.broker.services.engine) as uow:
        await uow.clients.register(RegisteredClient(client_id, orgnr, kid, pem.decode("ascii")))
        await uow.commit()
    base = str(api.client.make_url("/")).rstrip("/")
    return FileTransferClient(base, AltinnTokenSource(base, client_id, key, kid, orgnr=orgnr))


async def test_the_sdk_runs_a_whole_transfer(altinn: AltinnApi, tmp_path: Path) -> None:
    sender, bank, bank_2 = [await sdk_client(altinn, o) for o in (MEGLER, BANK, BANK_2)]
    try:
        data = os.urandom(200_000)
        transfer = await sender.initialize(
            file_name="package.zip",
            resource_id=RESOURCE,
            sender=MEGLER,
            recipients=[BANK, BANK_2],
            senders_reference="sak-1",
            property_list={"messageType": "pantedokument"},
            checksum=md5(data),
        )
        assert (await sender.overview(transfer)).status == "Initialized"
        assert await sender.upload(transfer, data) == transfer
        seen = await bank.overview(transfer)
        assert seen.status == "Published" and seen.size == len(data) and seen.checksum == md5(data)
        assert seen.property_list == {"messageType": "pantedokument"} and seen.senders_reference == "sak-1"
        assert transfer in await bank.search(RESOURCE, status="Published")

        assert await bank.download(transfer) == data
        assert await bank.download(transfer, (0, 9)) == data[:10]
        assert await bank.download(transfer, (len(data) - 5, None)) == data[-5:]
        target = tmp_path / "got.zip"
        assert await bank_2.download_to(transfer, target) == len(data)
        assert target.read_bytes() == data
        await bank.confirm_download(transfer)
        assert (await sender.overview(transfer)).recipient(BANK).status == "DownloadConfirmed"
        assert (await sender.overview(transfer)).status == "Published"
        await bank_2.confirm_download(transfer)
        details = await sender.details(transfer)
        assert details.status == "AllConfirmedDownloaded"
        assert [e.status for e in details.history][-1] == "AllConfirmedDownloaded"
        assert {e.recipient for e in details.recipient_history} == {f"0192:{BANK}", f"0192:{BANK_2}"}

        # A file streamed from disk, and the multipart initialize+upload.
        source = tmp_path / "big.zip"
        source.write_bytes(os.urandom(1_500_000))
        streamed = await sender.initialize(file_name="big.zip", resource_id=RESOURCE, sender=MEGLER, recipients=[BANK])
        await sender.upload(streamed, source)
        assert await bank.download(streamed) == source.read_bytes()
        one_go = await sender.initialize_and_upload(
            b"PK\x03\x04 small",
            file_name="small.zip",
            resource_id=RESOURCE,
            sender=MEGLER,
            recipients=[BANK],
            property_list={"messageType": "kjoepekontraktsvar"},
        )
        assert (await bank.overview(one_go)).property_list == {"messageType": "kjoepekontraktsvar"}
        assert await bank.download(one_go) == b"PK\x03\x04 small"

        # Another organisation's transfer is not found.
        with pytest.raises(BrokerError) as refused:
            await bank_2.overview(streamed)
        assert refused.value.status == 404
    finally:
        for client in (sender, bank, bank_2):
            await client.close()


async def test_the_sdk_uploads_over_tus_and_resumes(altinn: AltinnApi) -> None:
    sender, bank = await sdk_client(altinn, MEGLER), await sdk_client(altinn, BANK)
    try:
        data = os.urandom(700_000)
        transfer = await sender.initialize(
            file_name="tus.zip", resource_id=RESOURCE, sender=MEGLER, recipients=[BANK], checksum=md5(data)
        )
        # Another process began the upload and was cut off after its first chunk.
        token = await sender.tokens.token(sender.session)
        path = f"/broker/api/v1/filetransfer/upload/tus/{transfer}"
        auth: dict[str, Any] = {"Authorization": f"Bearer {token}", "Tus-Resumable": TUS_VERSION}
        created = await altinn.client.post(path, headers={**auth, "Upload-Length": str(len(data))})
        assert created.status == 201, await created.text()
        first = await altinn.client.patch(
            path,
            data=data[:100_000],
            headers={**auth, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        )
        assert first.status == 204, await first.text()
        assert await sender.tus_offset(transfer) == 100_000

        await sender.tus_upload(transfer, data, chunk_size=256 * 1024)  # resumes at the broker's offset
        assert (await bank.overview(transfer)).status == "Published"
        assert await bank.download(transfer) == data

        dropped = await sender.initialize(file_name="x.zip", resource_id=RESOURCE, sender=MEGLER, recipients=[BANK])
        created = await altinn.client.post(
            f"/broker/api/v1/filetransfer/upload/tus/{dropped}", headers={**auth, "Upload-Length": "10"}
        )
        assert created.status == 201
        await sender.tus_terminate(dropped)
        assert await sender.tus_offset(dropped) is None
    finally:
        await sender.close()
        await bank.close()
