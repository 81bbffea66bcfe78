"""The console's conversations for real traffic of the official profile: the sale `dsve demo --profile dsve`
runs shows every conversation with its rule checks all passing; a broken conversation sent through the
Altinn-compatible API (rules on ``warn``, so it is delivered) shows each broken rule by name."""

from __future__ import annotations

import asyncio
import io
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from broker.app import create_app
from broker.app_keys import SERVICES
from broker.config import Settings
from broker.xml.pki import TestPki
from participants.cases import demo_sale_case
from participants.official import documents
from participants.official.demo import run_official_demo
from participants.official.responders import Reply
from participants.official.schema import OfficialSchema
from tests.console.conftest import OPERATOR, add_users, sign_in
from tests.filetransfer.conftest import AltinnApi, start_altinn
from tests.fixtures.third_party import DSVE_SPEC, require_third_party
from tests.http.conftest import BANK, MEGLER
from tests.kartverket.etinglysing.conftest import SCHEMA_DIR

_LINK = re.compile(r'href="(/console/conversations/[^"]+)"')


async def test_the_demo_sale_shows_every_conversation_with_all_rules_passing(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    require_third_party()
    data_dir = tmp_path / "demo"
    kartverket_dir = SCHEMA_DIR / "schema"
    assert await run_official_demo(DSVE_SPEC, kartverket_dir, Console(file=io.StringIO()), data_dir)
    settings = Settings(
        data_dir=data_dir,
        trust_ca_files=(data_dir / "pki" / "ca.pem",),
        participants_file=data_dir / "pki" / "participants.toml",
        schema_sets=(("dsve", DSVE_SPEC), ("etinglysing", kartverket_dir)),
        lifecycle_interval_s=3600,
    )
    app = create_app(settings)
    client = await aiohttp_client(app)
    await add_users(app[SERVICES])
    assert (await sign_in(client, OPERATOR)).status == 303

    listing = await (await client.get("/console/conversations")).text()
    links = _LINK.findall(listing)
    case = demo_sale_case()
    assert sorted(links) == sorted(
        [
            f"/console/conversations/{case.buyers_bank.orgnr}/LAAN-2026-0412",
            f"/console/conversations/{case.buyers_bank.orgnr}/-",
            f"/console/conversations/{case.megler.orgnr}/{case.reference}",
        ]
    )
    assert listing.count("all pass") == 3 and "break a rule" not in listing
    pages = {link: await (await client.get(link)).text() for link in links}
    for link, page in pages.items():
        assert "Every rule passes" in page and "Broken rules" not in page, link
    bank_case = pages[f"/console/conversations/{case.buyers_bank.orgnr}/LAAN-2026-0412"]
    for kind in ("IntensjonFraBank", "IntensjonssvarFraMegler", "GjennomfoertEtinglysing", "OppnaaddPrioritetOk"):
        assert kind in bank_case
    assert "priority-after-registration: passes" in bank_case
    megler_case = pages[f"/console/conversations/{case.megler.orgnr}/{case.reference}"]
    for kind in ("Restgjeldsforespoersel", "Restgjeldssvar", "Innfrielsessaldoforespoersel", "Innfrielsessaldosvar"):
        assert kind in megler_case
    assert "reply-answers-request: passes" in megler_case and "references-copied: passes" in megler_case


async def _send(api: AltinnApi, reply: Reply, sender: str, recipient: str) -> dict[str, Any]:
    response = await api.initialize(sender, [recipient], properties=reply.properties, file_name="payload.zip")
    assert response.status == 200, await response.text()
    transfer_id = str((await response.json())["fileTransferId"])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in reply.files.items():
            archive.writestr(name, data)
    await api.upload(sender, transfer_id, buffer.getvalue())
    for _ in range(200):
        overview = await api.overview(sender, transfer_id)
        if overview["fileTransferStatus"] in ("Published", "Failed"):
            return overview
        await asyncio.sleep(0.05)
    raise AssertionError(f"transfer {transfer_id} never settled")


async def test_a_broken_conversation_through_the_api_shows_each_broken_rule_by_name(
    aiohttp_client: Any, tmp_path: Path, test_pki: TestPki
) -> None:
    require_third_party()
    api = await start_altinn(
        aiohttp_client,
        tmp_path,
        test_pki,
        f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
        schema_sets=(("dsve", DSVE_SPEC),),
        conversation_rules="kv_dsve=warn",
    )
    assert (await api.configure(schemaSet="dsve")).status == 200
    case, schema, now = demo_sale_case(), OfficialSchema(DSVE_SPEC), datetime.now(UTC)
    assert (case.buyers_bank.orgnr, case.megler.orgnr) == (BANK, MEGLER)

    def intention(reference: str) -> tuple[bytes, dict[str, Any]]:
        data = schema.encode(*documents.intention_from_bank(case, reference, now))
        return data, schema.decode(data)[1]

    def answer(request: dict[str, Any], their_reference: str) -> Reply:
        root, data = documents.intention_reply(request, case, now)
        data["mottaker"]["referanse"] = their_reference
        files = {f"intensjonssvarframegler_{case.reference}.xml": schema.encode(root, data)}
        return Reply("IntensjonssvarFraMegler", "RutetSuksessfullt", "Rutet til oppdraget", files)

    # A reply without a request (the bank never asked in LAAN-2).
    _, never_asked = intention("LAAN-2")
    sent = [await _send(api, answer(never_asked, "LAAN-2"), MEGLER, BANK)]
    # A request in LAAN-3, answered with the wrong reference, and the priority message before registration.
    data, asked = intention("LAAN-3")
    sent.append(await _send(api, Reply("IntensjonFraBank", None, "", {"intensjonfrabank.xml": data}), BANK, MEGLER))
    sent.append(await _send(api, answer(asked, "LAAN-X"), MEGLER, BANK))
    priority = schema.encode(*documents.priority_reached(case, "LAAN-3", "DOK-1", "payload.zip", now))
    early = Reply("OppnaaddPrioritetOk", None, "", {f"oppnaaddprioritet_{case.reference}.xml": priority})
    sent.append(await _send(api, early, MEGLER, BANK))
    assert [s["fileTransferStatus"] for s in sent] == ["Published"] * 4  # warn: delivered, and recorded

    client = api.client
    await add_users(api.broker.services)
    assert (await sign_in(client, OPERATOR)).status == 303
    listing = await (await client.get("/console/conversations")).text()
    assert "break a rule" in listing
    expected = {
        "LAAN-2": "Broken rules: reply-answers-request",
        "LAAN-X": "Broken rules: references-copied",
        "LAAN-3": "Broken rules: priority-after-registration",
    }
    for reference, broken in expected.items():
        page = await (await client.get(f"/console/conversations/{BANK}/{reference}")).text()
        assert broken in page, (reference, page)
        assert "Every rule passes" not in page
