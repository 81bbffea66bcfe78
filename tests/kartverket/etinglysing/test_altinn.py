"""e-tinglysing through the broker's Altinn-compatible file transfer: a megler's system sends Kartverket's own
example files, one per ZIP on kv_etinglysing with the manifest property ``operation``, and gets every
forsendelsesstatus back as transfers of their own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from broker.xml.pki import TestPki
from participants.kartverket.etinglysing.altinn import RESOURCE
from participants.kartverket.etinglysing.container import pack
from participants.kartverket.etinglysing.controls import Behandlingsutfall
from tests.filetransfer.conftest import KARTVERKET, MEGLER
from tests.kartverket.etinglysing.conftest import example, open_service
from tests.kartverket.etinglysing.over_altinn import answers, receiver_for, start_etinglysing_broker
from tests.kartverket.etinglysing.test_manual import pant_on_restricted_unit


@pytest.fixture
async def world(aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> Any:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}"
    api = await start_etinglysing_broker(aiohttp_client, tmp_path, test_pki, database_url)
    (tmp_path / "kartverket").mkdir()
    register, service = await open_service(tmp_path / "kartverket")
    yield api, receiver_for(api, service, test_pki)
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
    got = await answers(api, seen)
    assert [(s.saksstatus, s.utfall) for _, s in got] == [
        ("MOTTATT", "UAVKLART"),
        ("UNDER_BEHANDLING", "UAVKLART"),
        ("AVSLUTTET", "TINGLYST"),
    ]
    overview, final = got[-1]
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
    [(_, status)] = await answers(api, seen)
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
    [(overview, status)] = await answers(api, seen)
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
    assert [s.saksstatus for _, s in await answers(api, seen)] == ["MOTTATT", "UNDER_BEHANDLING"]
    await receiver.service.decide(1010001, Behandlingsutfall.NEKTET)
    assert await receiver.poll_once() == 0
    [(overview, final)] = await answers(api, seen)
    assert (final.saksstatus, final.utfall, overview["propertyList"]["innsendingId"]) == (
        "AVSLUTTET",
        "NEKTET",
        "1010001",
    )
    await receiver.poll_once()
    assert await answers(api, seen) == []  # sent once
