"""What a small transfer costs the database on PostgreSQL, request by request: each writing step (a new
transfer, an upload published, a sole recipient's confirm) is one statement with its history rows and the
events announcing it, on a kept autocommit connection; a transfer read is one statement; the resource and
the parties come from the registry cache. The statements are counted on an
engine of the test's own, so the relay's work (on the broker's engine) is not counted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from broker.domain.errors import Error, Refusal
from broker.domain.file_transfers import FileTransferStatus
from broker.events.event_log import events_of_transfer
from broker.store.engine import create_engine
from broker.store.file_transfer_repository import FileTransferRepository
from broker.store.kept_connections import KeptConnections
from broker.usecases.file_transfers.confirm import confirm_download
from broker.usecases.file_transfers.download import open_download
from broker.usecases.file_transfers.initialize import InitializeRequest, initialize_transfer
from broker.usecases.file_transfers.upload import upload_stream
from broker.xml.pki import TestPki
from tests.filetransfer.conftest import BANK, MEGLER, RESOURCE, md5, start_altinn

# Statements each request may send: the resource and the parties (read once, then kept by the registry cache)
# and one statement for the transfer, its history and its event; the step to UploadStarted with the read,
# then one statement for UploadProcessing, Published, their history, their events and the notices; the
# recipient's step with the transfer's read; the transfer and one statement for the confirm,
# AllConfirmedDownloaded and the events of both. Every request runs on a kept autocommit connection: no BEGIN,
# COMMIT or ping.
BUDGET = {"initialize": 3, "upload": 2, "download": 1, "confirm": 2}


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.mark.postgres
async def test_statements_per_request(
    postgres_url: str, aiohttp_client: Any, tmp_path: Path, test_pki: TestPki
) -> None:
    api = await start_altinn(aiohttp_client, tmp_path, test_pki, postgres_url)
    engine = create_engine(postgres_url)
    statements: list[str] = []
    sa.event.listen(engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    connections = KeptConnections(engine)
    services = replace(api.broker.services, engine=engine, connections=connections)
    data = b"PK\x03\x04" + bytes(range(256)) * 8
    spent: dict[str, int] = {}
    try:
        request = InitializeRequest("small.zip", RESOURCE, f"0192:{MEGLER}", [f"0192:{BANK}"], checksum=md5(data))
        transfer_id = await initialize_transfer(services, MEGLER, request)
        spent["initialize"] = len(statements)
        await upload_stream(services, MEGLER, transfer_id, _once(data), len(data))
        spent["upload"] = len(statements) - sum(spent.values())
        download = await open_download(services, BANK, transfer_id, None)
        assert b"".join([chunk async for chunk in download.chunks]) == data
        spent["download"] = len(statements) - sum(spent.values())
        await confirm_download(services, BANK, transfer_id)
        spent["confirm"] = len(statements) - sum(spent.values())
    finally:
        await connections.close()
        await engine.dispose()
    assert spent == BUDGET, "\n".join(statements)
    overview = await api.overview(MEGLER, transfer_id)
    assert overview["fileTransferStatus"] == FileTransferStatus.ALL_CONFIRMED_DOWNLOADED.value
    # Each one-statement step wrote its history and announced itself, each event once.
    async with api.broker.services.engine.connect() as conn:
        logged = await events_of_transfer(conn, transfer_id)
        own, recipients = await FileTransferRepository(conn).histories(transfer_id)
    assert [(e.type.value.rsplit(".", 1)[1], e.party) for e in logged] == [
        ("filetransferinitialized", MEGLER),
        ("uploadprocessing", MEGLER),
        ("published", MEGLER),
        ("published", BANK),
        ("downloadconfirmed", BANK),
        ("downloadconfirmed", MEGLER),
        ("allconfirmeddownloaded", MEGLER),
    ]
    assert [h.status for h in own] == [
        "Initialized",
        "UploadStarted",
        "UploadProcessing",
        "Published",
        "AllConfirmedDownloaded",
    ]
    assert [(h.recipient, h.status) for h in recipients] == [
        (BANK, "Initialized"),
        (BANK, "DownloadStarted"),
        (BANK, "DownloadConfirmed"),
    ]


@pytest.mark.postgres
async def test_a_refused_step_keeps_its_connection(
    postgres_url: str, aiohttp_client: Any, tmp_path: Path, test_pki: TestPki
) -> None:
    """A download refused (not published yet) is no failed statement: the kept connection serves the next."""
    api = await start_altinn(aiohttp_client, tmp_path, test_pki, postgres_url)
    engine = create_engine(postgres_url)
    opened: list[object] = []
    sa.event.listen(engine.sync_engine, "connect", lambda *args: opened.append(args[0]))
    connections = KeptConnections(engine)
    services = replace(api.broker.services, engine=engine, connections=connections)
    try:
        request = InitializeRequest("early.zip", RESOURCE, f"0192:{MEGLER}", [f"0192:{BANK}"])
        transfer_id = await initialize_transfer(services, MEGLER, request)
        before = len(opened)
        for _ in range(3):
            with pytest.raises(Refusal) as refused:
                await open_download(services, BANK, transfer_id, None)
            assert refused.value.error is Error.FILE_NOT_AVAILABLE
    finally:
        await connections.close()
        await engine.dispose()
    assert len(opened) - before <= 1  # one connection (from the pool, or new) serves the three downloads
