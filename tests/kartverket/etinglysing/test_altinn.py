"""e-tinglysing through the broker's Altinn-compatible file transfer: a megler's system sends Kartverket's own
example files, one per ZIP on kv_etinglysing with the manifest property ``operation``, and gets every
forsendelsesstatus back as transfers of their own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from broker.xml.pki import TestPki
from participants.kartverket.etinglysing.altinn import RESOURCE, AltinnReceiver, GrantTokens
from participants.kartverket.etinglysing.container import pack, unpack
from participants.kartverket.etinglysing.controls import Behandlingsutfall
from participants.sdk.file_transfer_client import FileTransferClient
from tests.filetransfer.conftest import BASE, KARTVERKET, MEGLER, READ, AltinnApi, start_altinn
from tests.http.conftest import AUDIENCE
from tests.kartverket.etinglysing.conftest import SCHEMA_DIR, Status, example, open_service, statuses
from tests.kartverket.etinglysing.test_manual import pant_on_restricted_unit

STAGES = [None, "MOTTATT", "UKJENT_TEKNISK_FEIL", "UNDER_BEHANDLING", "AVSLUTTET"]


async def _answers(api: AltinnApi, seen: set[str]) -> list[tuple[dict[str, Any], Status]]:
    """The transfers Kartverket has sent the megler since ``seen``, each with its status, downloaded and confirmed."""
    headers = await api.auth(MEGLER, READ)
    listed = await api.client.get(BASE, params={"resourceId": RESOURCE, "status": "Published"}, headers=headers)
    found = []
    for transfer_id in await listed.json():
        if transfer_id in seen:
            continue
        seen.add(transfer_id)
        overview = await api.overview(MEGLER, transfer_id)
        if overview["sender"] != f"0192:{KARTVERKET}":
            continue
        download = await api.client.get(f"{BASE}/{transfer_id}/download", headers=headers)
        [status] = statuses([unpack(await download.read())])
        await api.client.post(f"{BASE}/{transfer_id}/confirmdownload", headers=headers)
        found.append((overview, status))
    # the listing is in no particular order; a status tells where it stands
    return sorted(found, key=lambda item: STAGES.index(item[1].saksstatus))


@pytest.fixture
async def world(aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> Any:
    api = await start_altinn(
        aiohttp_client,
        tmp_path,
        test_pki,
        f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}",
        schema_sets=(("etinglysing", SCHEMA_DIR / "schema"),),
    )
    configured = await api.configure(
        resource=RESOURCE, schemaSet="etinglysing", maxFileTransferSize=10_000_000, fileTransferTimeToLive="P30D"
    )
    assert configured.status == 200, await configured.text()
    (tmp_path / "kartverket").mkdir()
    register, service = await open_service(tmp_path / "kartverket")
    tokens = GrantTokens(str(api.client.make_url("/token")), KARTVERKET, test_pki.credential(KARTVERKET), AUDIENCE)
    client = FileTransferClient(str(api.client.make_url("")), tokens, api.client.session)
    yield api, AltinnReceiver(client, service, KARTVERKET)
    await register.close()


async def test_a_forsendelse_through_the_broker_is_answered_on_every_status_change(world: Any) -> None:
    api, receiver = world
    sent = await api.new_transfer(
        MEGLER,
        [KARTVERKET],
        pack("overdragelse.xml", example("overdragelse.xml")),
        properties={"operation": "sendTilTinglysing"},
        resource=RESOURCE,
    )
    assert await receiver.poll_once() == 1
    assert await receiver.poll_once() == 0  # confirmed: not handled twice
    seen: set[str] = {sent}
    answers = await _answers(api, seen)
    assert [(s.saksstatus, s.utfall) for _, s in answers] == [
        ("MOTTATT", "UAVKLART"),
        ("UNDER_BEHANDLING", "UAVKLART"),
        ("AVSLUTTET", "TINGLYST"),
    ]
    overview, final = answers[-1]
    assert final.documents == [("1", 2026, 1, "200", [("minReferanse#1", 1)])]
    assert overview["propertyList"] == {"operation": "sendTilTinglysing", "innsendingId": "1010001"}
    assert overview["sendersFileTransferReference"] == "sak-4711"
    assert [r["currentRecipientFileTransferStatusCode"] for r in (await api.overview(MEGLER, sent))["recipients"]] == [
        "DownloadConfirmed"
    ]

    asked = example("hentStatus.xml").replace(b"1010010", b"1010001")
    await api.new_transfer(
        MEGLER, [KARTVERKET], pack("hentStatus.xml", asked), properties={"operation": "hentStatus"}, resource=RESOURCE
    )
    await receiver.poll_once()
    [(_, status)] = await _answers(api, seen)
    assert (status.innsending_id, status.saksstatus, status.utfall) == ("1010001", "AVSLUTTET", "TINGLYST")


async def test_an_invalid_file_is_refused_by_the_broker_and_valider_is_answered(world: Any) -> None:
    """The resource checks each file against innsending.xsd: Kartverket's invalid example fails in the broker
    with the schema error and never reaches Kartverket."""
    api, receiver = world
    initialized = await api.initialize(
        MEGLER, [KARTVERKET], file_name="ugyldig.zip", properties={"operation": "sendTilTinglysing"}, resource=RESOURCE
    )
    refused = str((await initialized.json())["fileTransferId"])
    upload = await api.upload(MEGLER, refused, pack("ugyldig.xml", example("ugyldig.xml")))
    assert upload.status == 400
    [error] = (await upload.json())["errors"]
    assert (error["file"], error["line"], error["path"]) == ("ugyldig.xml", 3, "/forsendelse/usignertMelding")
    assert await receiver.poll_once() == 0
    seen = {refused}
    seen.add(
        await api.new_transfer(
            MEGLER,
            [KARTVERKET],
            pack("fradeling.xml", example("fradeling.xml")),
            properties={"operation": "valider"},
            resource=RESOURCE,
        )
    )
    await receiver.poll_once()
    [(overview, status)] = await _answers(api, seen)
    assert overview["propertyList"] == {"operation": "valider"}
    assert (status.saksstatus, status.codes) == (None, {"RETTSSTIFTELSESTYPE_IKKE_TILLATT"})


async def test_a_case_officers_decision_reaches_the_sender(world: Any) -> None:
    api, receiver = world
    seen = {
        await api.new_transfer(
            MEGLER,
            [KARTVERKET],
            pack("pant.xml", pant_on_restricted_unit("manuell-1")),
            properties={"operation": "sendTilTinglysing"},
            resource=RESOURCE,
        )
    }
    await receiver.poll_once()
    assert [s.saksstatus for _, s in await _answers(api, seen)] == ["MOTTATT", "UNDER_BEHANDLING"]
    await receiver.service.decide(1010001, Behandlingsutfall.NEKTET)
    assert await receiver.poll_once() == 0
    [(overview, final)] = await _answers(api, seen)
    assert (final.saksstatus, final.utfall, overview["propertyList"]["innsendingId"]) == (
        "AVSLUTTET",
        "NEKTET",
        "1010001",
    )
    await receiver.poll_once()
    assert await _answers(api, seen) == []  # sent once
