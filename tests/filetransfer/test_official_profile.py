"""The official DSVE profile through the Altinn-compatible API (resource kv_dsve with the dsve schema set): the
official examples accepted and delivered, the stale ones and each mutation Failed with the rule's name, and the
conversation rules recorded (warn) or failing the transfer (enforce)."""

from __future__ import annotations

import asyncio
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from broker.usecases.conversation_checks import conversation
from broker.xml.pki import TestPki
from tests.filetransfer.conftest import BANK, BASE, MEGLER, READ, AltinnApi, start_altinn
from tests.fixtures.third_party import DSVE_SPEC, require_third_party
from tests.schemasets.packages import STALE, VALID, Example


async def _official_altinn(aiohttp_client: Any, tmp_path: Path, test_pki: TestPki, rules: str = "") -> AltinnApi:
    require_third_party()
    api = await start_altinn(
        aiohttp_client,
        tmp_path,
        test_pki,
        f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
        schema_sets=(("dsve", DSVE_SPEC),),
        accept_test_identifiers=True,  # the examples' placeholder numbers, as a test environment has them
        conversation_rules=rules,
    )
    configured = await api.configure(schemaSet="dsve")
    assert configured.status == 200, await configured.text()
    return api


def _between_demo_parties(example: Example) -> tuple[bytes, str, str]:
    """The example with its parties swapped for the demo bank and megler (the transfer's sender and recipient)."""
    from lxml import etree

    from broker.schemasets.configured import all_mappings

    data = example.data()
    routing = all_mappings()["dsve"].types[example.message_type].routing
    sender, recipient = (BANK, MEGLER) if example.role == "bank" else (MEGLER, BANK)
    old = {}
    root = etree.fromstring(data)
    for key, orgnr in (("sender", sender), ("recipient", recipient)):
        owner = root.xpath(routing[key].rpartition("/@")[0])
        if owner:
            old[key] = owner[0].get("id")
            owner[0].set("id", orgnr)
    # Every other mention of the same organisations (a megler element beside avsender) follows.
    text = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    if old.get("sender") and old.get("sender") != old.get("recipient"):
        text = text.replace(f'id="{old["sender"]}"'.encode(), f'id="{sender}"'.encode())
    return text, sender, recipient


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


async def _settled(api: AltinnApi, orgnr: str, transfer_id: str) -> dict[str, Any]:
    for _ in range(100):
        overview = await api.overview(orgnr, transfer_id)
        if overview["fileTransferStatus"] in ("Published", "Failed"):
            return overview
        await asyncio.sleep(0.05)
    return overview


async def _send(
    api: AltinnApi, example: Example, data: bytes, sender: str, recipient: str, **manifest: str
) -> dict[str, Any]:
    properties = {**example.manifest(), **manifest}
    response = await api.initialize(sender, [recipient], properties=properties, file_name="payload.zip")
    assert response.status == 200, await response.text()
    transfer_id = str((await response.json())["fileTransferId"])
    await api.upload(sender, transfer_id, _zip({example.zip_name: data}))
    return await _settled(api, sender, transfer_id)


async def test_the_official_examples_through_the_api(aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> None:
    api = await _official_altinn(aiohttp_client, tmp_path, test_pki)
    for example in VALID:
        data, sender, recipient = _between_demo_parties(example)
        overview = await _send(api, example, data, sender, recipient)
        assert overview["fileTransferStatus"] == "Published", (example.file, overview)
        download = await api.client.get(
            f"{BASE}/{overview['fileTransferId']}/download", headers=await api.auth(recipient, READ)
        )
        assert download.status == 200
        with zipfile.ZipFile(io.BytesIO(await download.read())) as archive:
            assert archive.read(example.zip_name) == data
        # The same message with a wrong check digit in the sender's @id fails by the rule's name.
        flipped = sender[:8] + str((int(sender[8]) + 1) % 10)
        mutated = data.replace(f'id="{sender}"'.encode(), f'id="{flipped}"'.encode())
        refused = await _send(api, example, mutated, sender, recipient)
        assert refused["fileTransferStatus"] == "Failed", example.file
        assert "(rule:orgnr)" in refused["fileTransferStatusText"], refused["fileTransferStatusText"]
    for example in STALE:
        data, sender, recipient = _between_demo_parties(example)
        overview = await _send(api, example, data, sender, recipient)
        assert overview["fileTransferStatus"] == "Failed", example.file
        assert example.zip_name in overview["fileTransferStatusText"]


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"messageType": "Nope"}, "manifest:messageType"),
        ({"status": "Kanskje"}, "manifest:status"),
    ],
)
async def test_a_mutated_manifest_fails_with_the_rules_name(
    aiohttp_client: Any, tmp_path: Path, test_pki: TestPki, change: dict[str, str], rule: str
) -> None:
    api = await _official_altinn(aiohttp_client, tmp_path, test_pki)
    example = VALID[7]  # Restgjeldssvar, a reply with a status
    data, sender, recipient = _between_demo_parties(example)
    overview = await _send(api, example, data, sender, recipient, **change)
    assert overview["fileTransferStatus"] == "Failed" and f"({rule})" in overview["fileTransferStatusText"]


async def test_a_role_that_may_not_send_the_type_fails(aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> None:
    api = await _official_altinn(aiohttp_client, tmp_path, test_pki)
    example = VALID[2]  # IntensjonFraBank, sent by the megler
    data, _, _ = _between_demo_parties(example)
    data = data.replace(f'id="{BANK}"'.encode(), b'id="X"').replace(f'id="{MEGLER}"'.encode(), f'id="{BANK}"'.encode())
    data = data.replace(b'id="X"', f'id="{MEGLER}"'.encode())
    overview = await _send(api, example, data, MEGLER, BANK)
    assert overview["fileTransferStatus"] == "Failed" and "(role)" in overview["fileTransferStatusText"]


async def _send_reply(api: AltinnApi, reply: Any, sender: str, recipient: str) -> dict[str, Any]:
    response = await api.initialize(sender, [recipient], properties=reply.properties, file_name="payload.zip")
    assert response.status == 200, await response.text()
    transfer_id = str((await response.json())["fileTransferId"])
    await api.upload(sender, transfer_id, _zip(reply.files))
    return await _settled(api, sender, transfer_id)


async def test_conversation_rules_enforced_through_the_api(
    aiohttp_client: Any, tmp_path: Path, test_pki: TestPki
) -> None:
    """The simulators' documents (the demo sale: Nordlys Sparebank and Fjordmegleren, the demo's orgnrs)."""
    from datetime import UTC, datetime

    from participants.cases import demo_sale_case
    from participants.official import documents
    from participants.official.responders import MeglerResponder, Reply
    from participants.official.schema import OfficialSchema

    api = await _official_altinn(aiohttp_client, tmp_path, test_pki, rules="kv_dsve=enforce")
    case, schema, now = demo_sale_case(), OfficialSchema(DSVE_SPEC), datetime.now(UTC)
    assert (case.buyers_bank.orgnr, case.megler.orgnr) == (BANK, MEGLER)
    request = schema.encode(*documents.intention_from_bank(case, "LAAN-1", now))
    answer = MeglerResponder(schema, [case], lambda: now).on_intention(request)
    assert answer.status == "RutetSuksessfullt"
    # The answer before its request breaks reply-answers-request: enforced, the transfer fails with its name.
    refused = await _send_reply(api, answer, MEGLER, BANK)
    assert refused["fileTransferStatus"] == "Failed"
    assert "(conversation:reply-answers-request)" in refused["fileTransferStatusText"]
    asked = await _send_reply(api, Reply("IntensjonFraBank", None, "", {"intensjonfrabank.xml": request}), BANK, MEGLER)
    assert asked["fileTransferStatus"] == "Published", asked["fileTransferStatusText"]
    answered = await _send_reply(api, answer, MEGLER, BANK)
    assert answered["fileTransferStatus"] == "Published", answered["fileTransferStatusText"]
    priority = schema.encode(*documents.priority_reached(case, "LAAN-1", "DOK-1", "payload.zip", now))
    early = await _send_reply(
        api, Reply("OppnaaddPrioritetOk", None, "", {"oppnaaddprioritet_1.xml": priority}), MEGLER, BANK
    )
    assert "(conversation:priority-after-registration)" in early["fileTransferStatusText"]
    recorded = await conversation(api.broker.services.engine, f"{BANK}/LAAN-1")
    assert [(r.message.message_type, r.accepted) for r in recorded] == [
        ("IntensjonssvarFraMegler", False),
        ("IntensjonFraBank", True),
        ("IntensjonssvarFraMegler", True),
        ("OppnaaddPrioritetOk", False),
    ]
    assert all(result.holds for r in recorded if r.accepted for result in r.results)


async def test_a_mortgage_deed_is_delivered_only_when_every_mortgagor_signed_it(
    aiohttp_client: Any, tmp_path: Path, test_pki: TestPki
) -> None:
    """The broker verifies the mortgagors' signatures on a deed in Kartverket's XML form (its trusted CAs)."""
    from participants.cases import demo_sale_case
    from participants.official.documents import deed_stand_in
    from participants.official.responders import Reply

    api = await _official_altinn(aiohttp_client, tmp_path, test_pki)
    case = demo_sale_case()
    everyone = [test_pki.credential(p.fodselsnummer) for p in case.buyer_persons]
    for signers, expected in ((everyone[:1], "Failed"), ([], "Failed"), (everyone, "Published")):
        deed = deed_stand_in(case, "NLS-1-9057", signers)
        reply = Reply("SignedMortgageDeed", None, "", {"signedmortgagedeed_1.xml": deed}, {"coverLetter": "Omitted"})
        overview = await _send_reply(api, reply, BANK, MEGLER)
        assert overview["fileTransferStatus"] == expected, overview["fileTransferStatusText"]
        if expected == "Failed":
            assert "(deed:signature)" in overview["fileTransferStatusText"]
