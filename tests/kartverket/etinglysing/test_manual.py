"""Manual handling: UAVKLART control results leave a submission registered (its priority kept) and
UNDER_BEHANDLING until a case officer ends it TINGLYST or NEKTET, by the service or the CLI."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from broker.cli import main
from participants.kartverket.etinglysing.controls import Behandlingsutfall
from participants.kartverket.etinglysing.service import NotPending
from participants.kartverket.model import Matrikkelenhet, Right, RightKind
from participants.kartverket.seed import RESTRICTED_UNIT
from tests.kartverket.etinglysing.conftest import SCHEMA_DIR, open_service, statuses
from tests.kartverket.etinglysing.edit import Edit

HILDE = "27915510189"
BOLIGSTIFTELSEN = "990000409"


def pant_on_restricted_unit(reference: str, *, consent: bool = False) -> bytes:
    """A pant by the owner of a unit under a registered urådighet (held by Boligstiftelsen)."""
    edit = Edit("pant.xml").set("//i:forsendelsesreferanse", reference)
    edit.remove("//i:pant/i:hefterI/i:delAvRegisterenhetsrett[2]").remove("//i:begrensetTil")
    edit.set("//i:hefterI//i:gaardsnummer", str(RESTRICTED_UNIT.gaardsnummer))
    edit.set("//i:hefterI//i:bruksnummer", str(RESTRICTED_UNIT.bruksnummer))
    for path in ("//i:pantsettere/i:person", "//i:erklaeringFor"):
        edit.set(f"{path}/i:navn", "Hilde Strand").set(f"{path}/i:identifikasjonsnummer", HILDE)
    edit.set("//i:signatur/i:personidentifikasjonsnummer", HILDE)
    if consent:
        edit.add(
            "//i:ikkeDigitaleSignaturer",
            "<signatur><gjelderDokumentreferanse>1</gjelderDokumentreferanse>"
            f"<personidentifikasjonsnummer>{BOLIGSTIFTELSEN}</personidentifikasjonsnummer></signatur>",
        )
    return edit.bytes()


def pants(extract_rights: tuple[Right, ...]) -> list[str]:
    return [str(r.ref.document) for r in extract_rights if r.kind is RightKind.PANT]


async def test_uavklart_is_registered_and_waits_then_nektet_keeps_the_record(tmp_path: Path) -> None:
    register, kv = await open_service(tmp_path)
    try:
        _, waiting = statuses(await kv.handle("sendTilTinglysing", pant_on_restricted_unit("u-1")))
        assert (waiting.saksstatus, waiting.utfall) == ("UNDER_BEHANDLING", "UAVKLART")
        assert [(f.kodeverdi, f.utfall) for f in waiting.findings] == [("URAADIGHET_UTEN_SAMTYKKE", "UAVKLART")]
        assert waiting.documents[0][1:3] == (2026, 1) and waiting.text("i:registreringstidspunkt")
        assert pants((await register.extract(RESTRICTED_UNIT)).rights) == ["2026/1/200"]

        # a later submission is judged with the first one in the register, and stands behind it
        *_, later = statuses(await kv.handle("sendTilTinglysing", pant_on_restricted_unit("u-2")))
        assert later.saksstatus == "UNDER_BEHANDLING" and later.documents[0][2] == 2
        assert (later.text("i:registreringstidspunkt") or "") > (waiting.text("i:registreringstidspunkt") or "")

        assert [p[0] for p in await kv.pending()] == [1010001, 1010002]
        documents = await register.document_count()
        [refused] = statuses([await kv.decide(1010001, Behandlingsutfall.NEKTET)])
        assert (refused.saksstatus, refused.utfall) == ("AVSLUTTET", "NEKTET")
        assert refused.text("i:registreringstidspunkt") == waiting.text("i:registreringstidspunkt")
        assert refused.documents == waiting.documents and refused.extracts == []
        assert await register.document_count() == documents  # the refused document stays on record
        assert pants((await register.extract(RESTRICTED_UNIT)).rights) == ["2026/2/200"]
        assert statuses([await kv.status(1010001)])[0].utfall == "NEKTET"
        with pytest.raises(NotPending):
            await kv.decide(1010001, Behandlingsutfall.TINGLYST)

        [registered] = statuses([await kv.decide(1010002, Behandlingsutfall.TINGLYST)])
        assert (registered.saksstatus, registered.utfall) == ("AVSLUTTET", "TINGLYST")
        assert len(registered.extracts) == 1
    finally:
        await register.close()


async def test_the_holders_signature_is_its_consent(tmp_path: Path) -> None:
    register, kv = await open_service(tmp_path)
    try:
        *_, final = statuses(await kv.handle("sendTilTinglysing", pant_on_restricted_unit("s-1", consent=True)))
        assert (final.saksstatus, final.utfall, final.findings) == ("AVSLUTTET", "TINGLYST", [])
    finally:
        await register.close()


async def test_a_bankruptcy_note_sends_a_pant_by_the_debtor_to_manual_handling(tmp_path: Path) -> None:
    register, kv = await open_service(tmp_path)
    try:
        *_, noted = statuses(
            await kv.handle("sendTilTinglysing", Edit("anmerkning-paa-person-konkursmelding.xml").bytes())
        )
        assert noted.utfall == "TINGLYST"
        edit = Edit("pant.xml").remove("//i:pant/i:hefterI/i:delAvRegisterenhetsrett[2]").remove("//i:begrensetTil")
        edit.set("//i:hefterI//i:bruksnummer", "3")
        for path in ("//i:pantsettere/i:person", "//i:erklaeringFor"):
            edit.set(f"{path}/i:navn", "Per Nordmann").set(f"{path}/i:identifikasjonsnummer", "15048000123")
        edit.set("//i:signatur/i:personidentifikasjonsnummer", "15048000123")
        *_, waiting = statuses(await kv.handle("sendTilTinglysing", edit.bytes()))
        assert [(f.kodeverdi, f.utfall) for f in waiting.findings] == [("KONKURS_ANMERKET", "UAVKLART")]
        rights = (await register.extract(Matrikkelenhet("0301", 82, 3))).rights
        notes = [r for r in rights if r.kind is RightKind.ANMERKNING]
        assert [r.holder.ident for r in notes if r.holder] == ["15048000123"]
    finally:
        await register.close()


def test_the_case_officer_decides_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def submit() -> str:
        register, kv = await open_service(tmp_path)
        await kv.handle("sendTilTinglysing", pant_on_restricted_unit("cli-1"))
        url = str(register.engine.url)
        await register.close()
        return url

    url = asyncio.run(submit())
    options = ["--database-url", url, "--xsd-dir", str(SCHEMA_DIR)]
    assert main(["sim", "kartverket-cases", *options]) == 0
    listing = capsys.readouterr().out
    assert "1010001" in listing and "URAADIGHET_UTEN_SAMTYKKE" in listing
    output = tmp_path / "status.xml"
    assert main(["sim", "kartverket-decide", "1010001", "NEKTET", "-o", str(output), *options]) == 0
    [status] = statuses([output.read_bytes()])
    assert (status.saksstatus, status.utfall) == ("AVSLUTTET", "NEKTET")
    assert main(["sim", "kartverket-decide", "1010001", "TINGLYST", *options]) == 1


async def test_an_uraadighet_in_one_owners_share_binds_that_owner_only(tmp_path: Path) -> None:
    """Kartverket's annenHeftelse example lays an urådighet on one co-owner's half of 0301-82/1: the other
    co-owner's pant in its own half passes, a pant in the burdened half goes to a case officer."""
    register, kv = await open_service(tmp_path)
    try:
        *_, restricted = statuses(await kv.handle("sendTilTinglysing", Edit("annenHeftelse.xml").bytes()))
        assert restricted.utfall == "TINGLYST"
        *_, other = statuses(await kv.handle("sendTilTinglysing", Edit("pant.xml").bytes()))
        assert (other.utfall, other.findings) == ("TINGLYST", [])
        burdened = Edit("pant.xml").set("//i:forsendelsesreferanse", "andel-2").remove("//i:delAvRegisterenhetsrett[2]")
        for path in ("//i:begrensetTil//i:rettighetshaver", "//i:pantsettere/i:person", "//i:erklaeringFor"):
            burdened.set(f"{path}/i:identifikasjonsnummer", "15048049722")
        burdened.set("//i:signatur/i:personidentifikasjonsnummer", "15048049722")
        *_, waiting = statuses(await kv.handle("sendTilTinglysing", burdened.bytes()))
        assert [(f.kodeverdi, f.utfall) for f in waiting.findings] == [("URAADIGHET_UTEN_SAMTYKKE", "UAVKLART")]
    finally:
        await register.close()
