"""A whole sale in the official DSVE profile between the simulators, over the Altinn-compatible API and
through Kartverket: the spec's messages in order, Kartverket's real forsendelsesstatus passed to the buyers'
bank in GjennomfoertEtinglysing, the sellers' bank's sletting registered only once the payoff is paid, and
OppnaaddPrioritetOk only for the priority read in the grunnbok. Every conversation's rules hold."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from broker.usecases.conversation_checks import conversation, recent_conversations
from broker.xml.keys import SigningCredential
from broker.xml.pki import TestPki
from participants.cases import SaleCase, demo_sale_case
from participants.kartverket.etinglysing.altinn import RESOURCE, AltinnReceiver, GrantTokens
from participants.kartverket.model import RightKind
from participants.kartverket.priority import register_priority
from participants.kartverket.register import LandRegister
from participants.kartverket.seed import DEMO_SALE
from participants.official.cover_letter import CoverLetterSchema, agreed_priority, cover_letter
from participants.official.registered import read_status
from participants.official.sale import (
    BANK_REFERENCE,
    MEGLER_CLIENT_ACCOUNT,
    Kartverket,
    SaleLog,
    SaleStopped,
    run_official_sale,
)
from participants.official.schema import OfficialSchema
from participants.sdk.file_transfer_client import FileTransferClient
from tests.filetransfer.conftest import KARTVERKET, AltinnApi, start_altinn
from tests.fixtures.third_party import DSVE_SPEC, require_third_party
from tests.http.conftest import AUDIENCE
from tests.kartverket.etinglysing.conftest import SCHEMA_DIR, open_service, statuses


@dataclass
class World:
    api: AltinnApi
    case: SaleCase
    clients: dict[str, FileTransferClient]
    kartverket: Kartverket
    register: LandRegister
    signers: list[SigningCredential]


async def _settle() -> None:
    return None


@pytest.fixture
async def world(aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> AsyncIterator[World]:
    require_third_party()
    api = await start_altinn(
        aiohttp_client,
        tmp_path,
        test_pki,
        f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
        schema_sets=(("dsve", DSVE_SPEC), ("etinglysing", SCHEMA_DIR / "schema")),
        conversation_rules="kv_dsve=enforce",
    )
    assert (await api.configure(schemaSet="dsve")).status == 200
    assert (await api.configure(resource=RESOURCE, schemaSet="etinglysing")).status == 200
    case = demo_sale_case()
    base = str(api.client.make_url("")).rstrip("/")

    def client(orgnr: str) -> FileTransferClient:
        tokens = GrantTokens(f"{base}/token", orgnr, test_pki.credential(orgnr), AUDIENCE)
        return FileTransferClient(base, tokens, api.client.session)

    clients = {
        role: client(org.orgnr)
        for role, org in (("bank", case.buyers_bank), ("megler", case.megler), ("sellers_bank", case.sellers_bank))
    }
    (tmp_path / "kartverket").mkdir()
    register, service = await open_service(tmp_path / "kartverket")
    kartverket = Kartverket(AltinnReceiver(client(KARTVERKET), service, KARTVERKET), register_priority(register))
    try:
        signers = [test_pki.credential(p.fodselsnummer) for p in case.buyer_persons]
        yield World(api, case, clients, kartverket, register, signers)
    finally:
        await register.close()


async def test_the_whole_sale_in_order_through_kartverket(world: World) -> None:
    case = world.case
    log = await run_official_sale(
        case, OfficialSchema(DSVE_SPEC), world.clients, _settle, world.kartverket, deed_signers=world.signers
    )

    assert log.received["megler"] == [
        ("Restgjeldssvar", "RutetSuksessfullt"),
        ("IntensjonFraBank", ""),
        ("SignedMortgageDeed", ""),
        ("Innfrielsessaldosvar", "RutetSuksessfullt"),
    ]
    assert log.received["sellers' bank"] == [("Restgjeldsforespoersel", ""), ("Innfrielsessaldoforespoersel", "")]
    kinds = [kind for kind, _ in log.received["buyers' bank"]]
    assert kinds == [
        "IntensjonssvarFraMegler",
        "SignedMortgageDeedProcessed",
        "GjennomfoertEtinglysing",
        "OppnaaddPrioritetOk",
    ]

    # GjennomfoertEtinglysing carries Kartverket's final status, named in the message's metadata.
    files = log.files["buyers' bank"][kinds.index("GjennomfoertEtinglysing")]
    name = f"forsendelsesstatus_{case.reference}.xml"
    assert sorted(files) == sorted([f"gjennomfoertetinglysing_{case.reference}.xml", name])
    [status] = statuses([files[name]])
    assert (status.saksstatus, status.utfall) == ("AVSLUTTET", "TINGLYST")
    registered = [(d[0], d[1], d[2]) for d in status.documents]
    assert [ref for ref, _, _ in registered] == [f"{case.reference}-skjoete", f"{case.reference}-pant"]
    assert all(year > 2000 and number > 0 for _, year, number in registered)
    assert len(status.extracts) == 1  # the grunnboksutskrift of the unit sold
    notice = etree.fromstring(files[f"gjennomfoertetinglysing_{case.reference}.xml"])
    assert notice.findtext("metadata/ressurser/vedlegg/navn") == name

    # Settlement order: the sletting is registered after the sale, and after the payoff was paid.
    sale, deletion = log.registered.values()
    assert sale.registered_at is not None and deletion.registered_at is not None
    assert deletion.registered_at > sale.registered_at
    lines = "\n".join(log.lines)
    assert lines.index("pays") < lines.index("loan paid off") < lines.index("TINGLYST the sellers' bank's sletting")
    assert lines.index("sletting") < lines.index("received OppnaaddPrioritetOk")

    # The priority told is the grunnbok's: first, now that the sellers' mortgage is gone.
    extract = await world.register.extract(DEMO_SALE.unit)
    mortgages = [r for r in extract.rights if r.kind is RightKind.PANT]
    pant = sale.documents[f"{case.reference}-pant"].right
    assert [(m.ref.document.number, m.ref.document.year) for m in mortgages] == [(pant.document_number, pant.year)]
    assert "has priority 1 (the conditions letter asks for 1)" in lines
    deed = log.files["megler"][[kind for kind, _ in log.received["megler"]].index("SignedMortgageDeed")]
    assert sorted(deed) == ["coverletter_1.xml", "signedmortgagedeed_1.xml"]

    # Every conversation the broker followed passes all its rules: the bank's case, the deed between the
    # same parties, and the megler's debt and payoff questions to the sellers' bank.
    engine = world.api.broker.services.engine
    keys = {key for key, _, _ in await recent_conversations(engine)}
    assert keys == {
        f"{case.buyers_bank.orgnr}/{BANK_REFERENCE}",
        f"{case.buyers_bank.orgnr}/-",
        f"{case.megler.orgnr}/{case.reference}",
    }
    for key in keys:
        recorded = await conversation(engine, key)
        assert all(r.accepted and all(result.holds for result in r.results) for r in recorded), key
    megler_case = await conversation(engine, f"{case.megler.orgnr}/{case.reference}")
    assert [r.message.message_type for r in megler_case] == [
        "Restgjeldsforespoersel",
        "Restgjeldssvar",
        "Innfrielsessaldoforespoersel",
        "Innfrielsessaldosvar",
    ]
    bank_case = await conversation(engine, f"{case.buyers_bank.orgnr}/{BANK_REFERENCE}")
    assert [res.rule for res in bank_case[-1].results] == ["priority-after-registration"]


async def test_no_sletting_and_no_priority_message_before_the_payoff_is_paid(world: World) -> None:
    case = world.case
    log = SaleLog()
    with pytest.raises(SaleStopped, match="not paid in full"):
        await run_official_sale(
            case,
            OfficialSchema(DSVE_SPEC),
            world.clients,
            _settle,
            world.kartverket,
            pays=lambda due: due - 1,
            log=log,
            deed_signers=world.signers,
        )
    assert [kind for kind, _ in log.received["buyers' bank"]][-1] == "GjennomfoertEtinglysing"
    assert list(log.registered) == ["the deed of sale and the mortgage"]
    # The sellers' bank's mortgage still stands in the grunnbok, ahead of the buyers' one.
    pant = log.registered["the deed of sale and the mortgage"].documents[f"{case.reference}-pant"].right
    assert await world.kartverket.priority(case.unit, pant) == 2
    assert case.existing_mortgage is not None
    extract = await world.register.extract(DEMO_SALE.unit)
    active = {(r.ref.document.year, r.ref.document.number) for r in extract.rights if r.kind is RightKind.PANT}
    assert (case.existing_mortgage.year, case.existing_mortgage.document_number) in active


def test_a_final_status_is_read_for_its_document_numbers() -> None:
    status = b"""<forsendelsesstatus xmlns="http://kartverket.no/grunnbok/wsapi/v2/domain/innsending">
      <behandlingsutfall>TINGLYST</behandlingsutfall>
      <tinglysingsinformasjon><dokumentinformasjon><dokumentinformasjon>
        <dokumentreferanse>A-pant</dokumentreferanse><dokumentaar>2026</dokumentaar>
        <dokumentnummer>77</dokumentnummer><embetenummer>200</embetenummer>
        <rettsstiftelsesinformasjon><rettsstiftelsesinformasjon>
          <rettsstiftelsesreferanse>A-pant-1</rettsstiftelsesreferanse><rettsstiftelsesnummer>1</rettsstiftelsesnummer>
        </rettsstiftelsesinformasjon></rettsstiftelsesinformasjon>
      </dokumentinformasjon></dokumentinformasjon></tinglysingsinformasjon>
    </forsendelsesstatus>"""
    final = read_status(status)
    assert final.outcome == "TINGLYST"
    assert final.documents["A-pant"].number == "2026/77"
    assert final.documents["A-pant"].right.office == 200


def test_the_conditions_letter_says_which_priority_the_megler_must_reach() -> None:
    require_third_party()
    letters = CoverLetterSchema(DSVE_SPEC)
    case, day = demo_sale_case(), datetime(2026, 12, 6, 12, tzinfo=UTC)
    first = cover_letter(letters, case, BANK_REFERENCE, MEGLER_CLIENT_ACCOUNT, day.date(), day)
    assert agreed_priority(letters, first) == 1
    stated = cover_letter(letters, case, BANK_REFERENCE, MEGLER_CLIENT_ACCOUNT, day.date(), day, first_priority=False)
    assert agreed_priority(letters, stated) is None
    with pytest.raises(ValueError):
        agreed_priority(letters, b"<Forutsetningsbrev><Kreditor/></Forutsetningsbrev>")
