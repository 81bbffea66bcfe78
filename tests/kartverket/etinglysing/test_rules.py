"""One test per rule: the code and utfall Kartverket would give, and that a returned (AVVIST) submission
leaves the register as it was."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from lxml import etree

from participants.kartverket.etinglysing.schema import NAMESPACE
from participants.kartverket.etinglysing.service import ETinglysing
from participants.kartverket.model import Matrikkelenhet
from participants.kartverket.register import LandRegister
from tests.kartverket.etinglysing.conftest import Status, example, open_service, statuses
from tests.kartverket.etinglysing.edit import Edit

PANT_SHARE = "//i:pant/i:hefterI/i:delAvRegisterenhetsrett[1]/i:begrensetTil/i:registerenhetsrettsandel"
SOLD = "//i:omsatteRegisterenhetsrettsandeler/i:solgte/i:registerenhetsrettsandel"
BOUGHT = "//i:omsatteRegisterenhetsrettsandeler/i:kjoepte/i:registerenhetsrettsandel"
FIRST_REF = "//i:delAvRett[1]/i:rettsstiftelse/i:rettsstiftelseReferanse"


@dataclass
class World:
    register: LandRegister
    kv: ETinglysing
    sent: int = 0

    async def send(self, data: bytes, *, fresh: bool = True) -> list[Status]:
        """Send ``data``; unless ``fresh`` is off, under a forsendelsesreferanse of its own, as a repeated one
        is returned at receipt."""
        if fresh:
            self.sent += 1
            root = etree.fromstring(data)
            reference = root.find(f"{{{NAMESPACE}}}forsendelsesreferanse")
            assert reference is not None
            reference.text = f"{reference.text}-{self.sent}"
            data = etree.tostring(root, xml_declaration=True, encoding="ISO-8859-1")
        return statuses(await self.kv.handle("sendTilTinglysing", data))

    async def returned(self, data: bytes) -> Status:
        """Send ``data`` and check it came back AVVIST with nothing new in the register."""
        documents = await self.register.document_count()
        *_, final = await self.send(data)
        assert (final.saksstatus, final.utfall) == ("AVSLUTTET", "AVVIST"), final.findings
        assert final.documents == [] and await self.register.document_count() == documents
        assert {f.utfall for f in final.findings} >= {"IKKE_GODKJENT"}
        return final


@pytest.fixture
async def world(tmp_path) -> AsyncIterator[World]:
    register, kv = await open_service(tmp_path)
    yield World(register, kv)
    await register.close()


def only(status: Status) -> tuple[str, str, int | None, int | None]:
    [finding] = status.findings
    return finding.kodeverdi, finding.utfall, finding.dokumentindeks, finding.rettsstiftelsesindeks


async def test_a_repeated_forsendelsesreferanse_is_returned_at_receipt(world: World) -> None:
    await world.send(example("overdragelse.xml"), fresh=False)
    [answer] = await world.send(example("overdragelse.xml"), fresh=False)
    assert (answer.saksstatus, answer.utfall, answer.innsending_id) == ("AVSLUTTET", "AVVIST", None)
    assert only(answer) == ("FORSENDELSESREFERANSE_BRUKT", "IKKE_GODKJENT", None, None)


async def test_the_same_forsendelsesreferanse_of_another_innsender_is_received(world: World) -> None:
    await world.send(example("overdragelse.xml"), fresh=False)
    other = (
        Edit("sletting.xml")
        .set("//i:forsendelsesreferanse", "3")
        .set("//i:innsender/i:identifikasjonsnummer", "930000000")
    )
    received, *_ = await world.send(other.bytes(), fresh=False)
    assert (received.saksstatus, received.innsending_id) == ("MOTTATT", "1010002")


async def test_an_unknown_innsender_is_returned(world: World) -> None:
    edit = Edit("overdragelse.xml").set("//i:innsender/i:identifikasjonsnummer", "999999999")
    assert "INNSENDER_UGYLDIG" in (await world.returned(edit.bytes())).codes


async def test_the_foelgebrev_must_list_the_documents(world: World) -> None:
    edit = Edit("overdragelse.xml").set("//i:gjelderDokumentreferanse", "2")
    assert "FOELGEBREV_REKKEFOELGE" in (await world.returned(edit.bytes())).codes


async def test_a_repeated_dokumentreferanse_is_returned(world: World) -> None:
    edit = Edit("pant.xml").duplicate("//i:dokument")
    assert "DOKUMENTREFERANSE_DUPLIKAT" in (await world.returned(edit.bytes())).codes


async def test_a_repeated_rettsstiftelsesreferanse_is_returned(world: World) -> None:
    edit = Edit("pant.xml").duplicate("//i:pant")
    assert "RETTSSTIFTELSESREFERANSE_DUPLIKAT" in (await world.returned(edit.bytes())).codes


async def test_a_document_without_rettsstiftelser_is_returned(world: World) -> None:
    edit = Edit("pant.xml").remove("//i:pant")
    assert only(await world.returned(edit.bytes())) == ("DOKUMENT_UTEN_RETTSSTIFTELSE", "IKKE_GODKJENT", 1, None)


async def test_a_type_code_that_does_not_fit_is_returned(world: World) -> None:
    edit = Edit("overdragelse.xml").set("//i:eierskifteMatrikkelenhet/i:rettsstiftelsestype/i:kodeverdi", "OB_PDO")
    assert only(await world.returned(edit.bytes())) == ("RETTSSTIFTELSESTYPE_UKJENT", "IKKE_GODKJENT", 1, 1)


async def test_identifiers_are_checked_against_the_registers(world: World) -> None:
    bad_digits = Edit("overdragelse.xml").set(f"{BOUGHT}/i:rettighetshaver/i:identifikasjonsnummer", "971040239")
    assert "IDENTIFIKASJONSNUMMER_UGYLDIG" in (await world.returned(bad_digits.bytes())).codes
    unknown = Edit("overdragelse.xml").set(f"{BOUGHT}/i:rettighetshaver/i:identifikasjonsnummer", "999999999")
    assert "IDENTIFIKASJONSNUMMER_UKJENT" in (await world.returned(unknown.bytes())).codes


async def test_names_are_checked_against_the_registers(world: World) -> None:
    edit = Edit("overdragelse.xml").set(f"{SOLD}/i:rettighetshaver/i:navn", "STATSBYGGET")
    final = await world.returned(edit.bytes())
    assert only(final) == ("NAVN_STEMMER_IKKE", "IKKE_GODKJENT", 1, 1)
    assert final.findings[0].begrunnelser == ("STATSBYGGET er ikke navnet på 971278374",)


async def test_the_unit_must_exist(world: World) -> None:
    edit = Edit("overdragelse.xml").set("//i:matrikkelenhet/i:bruksnummer", "99")
    assert only(await world.returned(edit.bytes())) == ("REGISTERENHET_FINNES_IKKE", "IKKE_GODKJENT", 1, 1)


async def test_the_unit_must_not_be_expired(world: World) -> None:
    edit = Edit("annenHeftelse.xml").set("//i:hefterI//i:matrikkelenhet/i:bruksnummer", "4")
    assert "REGISTERENHET_UTGAATT" in (await world.returned(edit.bytes())).codes


async def test_a_seller_must_hold_the_share_sold(world: World) -> None:
    edit = Edit("overdragelse-festerett-uten-bygning.xml").set(f"{SOLD}/i:nevner", "1").set(f"{BOUGHT}/i:nevner", "1")
    assert only(await world.returned(edit.bytes())) == ("SELGER_ER_IKKE_HJEMMELSHAVER", "IKKE_GODKJENT", 1, 1)


async def test_shares_bought_must_equal_shares_sold(world: World) -> None:
    edit = Edit("overdragelse-festerett-uten-bygning.xml").set(f"{BOUGHT}/i:nevner", "3")
    assert only(await world.returned(edit.bytes())) == ("ANDELER_STEMMER_IKKE", "IKKE_GODKJENT", 1, 1)


@pytest.mark.parametrize(("teller", "nevner"), [("1", "0"), ("0", "1"), ("3", "2")])
async def test_a_share_must_be_a_fraction_of_the_whole(world: World, teller: str, nevner: str) -> None:
    edit = Edit("overdragelse-festerett-uten-bygning.xml").set(f"{BOUGHT}/i:teller", teller)
    edit.set(f"{BOUGHT}/i:nevner", nevner)
    assert "ANDEL_UGYLDIG" in (await world.returned(edit.bytes())).codes  # not a ZeroDivisionError (found by fuzzing)


async def test_the_seller_must_sign(world: World) -> None:
    edit = Edit("overdragelse-festerett-uten-bygning.xml").remove(
        "//i:signatur[i:personidentifikasjonsnummer='15048049622']"
    )
    assert only(await world.returned(edit.bytes())) == ("SELGER_HAR_IKKE_SIGNERT", "IKKE_GODKJENT", 1, 1)


async def test_one_co_owner_sells_its_share(world: World) -> None:
    *_, final = await world.send(example("overdragelse-festerett-uten-bygning.xml"))
    assert final.utfall == "TINGLYST"
    owners = (await world.register.extract(Matrikkelenhet("0301", 100, 17, 1))).owners
    assert {(s.holder.ident, s.fraction) for s in owners} == {("15048049689", 0.5), ("30101400022", 0.5)}


async def test_a_person_disposing_must_declare_marital_status(world: World) -> None:
    edit = Edit("overdragelse-festerett-uten-bygning.xml").remove("//i:erklaeringOmSivilstand")
    assert only(await world.returned(edit.bytes())) == ("SIVILSTANDSERKLAERING_MANGLER", "IKKE_GODKJENT", 1, 1)


async def test_spouse_consent_where_required(world: World) -> None:
    needs = Edit("pant.xml").set("//i:kreverSamtykke", "true")
    assert only(await world.returned(needs.bytes())) == ("EKTEFELLESAMTYKKE_MANGLER", "IKKE_GODKJENT", 1, 1)
    spouse = (
        "<ektefellePartner><navn>Kari Nordmann</navn>"
        "<identifikasjonsnummer>15048049622</identifikasjonsnummer></ektefellePartner>"
    )
    consented = Edit("pant.xml").set("//i:kreverSamtykke", "true").add("//i:erklaeringOmSivilstand", spouse)
    consented.add(
        "//i:ikkeDigitaleSignaturer",
        "<signatur><gjelderDokumentreferanse>1</gjelderDokumentreferanse>"
        "<personidentifikasjonsnummer>15048049622</personidentifikasjonsnummer></signatur>",
    )
    *_, final = await world.send(consented.bytes())
    assert final.utfall == "TINGLYST"


async def test_the_pledger_must_sign(world: World) -> None:
    edit = Edit("pant.xml").remove("//i:signatur")
    assert only(await world.returned(edit.bytes())) == ("PANTSETTER_HAR_IKKE_SIGNERT", "IKKE_GODKJENT", 1, 1)


async def test_a_pant_in_more_than_the_pledgers_share_is_returned(world: World) -> None:
    edit = Edit("pant.xml").set(f"{PANT_SHARE}/i:nevner", "1")
    assert only(await world.returned(edit.bytes())) == ("PANTSETTER_ER_IKKE_HJEMMELSHAVER", "IKKE_GODKJENT", 1, 1)


async def test_a_pant_in_the_whole_needs_every_owner(world: World) -> None:
    edit = Edit("pant.xml").remove("//i:pant/i:hefterI/i:delAvRegisterenhetsrett[1]/i:begrensetTil")
    assert only(await world.returned(edit.bytes())) == ("PANTSETTER_ER_IKKE_HJEMMELSHAVER", "IKKE_GODKJENT", 1, 1)


async def test_amounts(world: World) -> None:
    edit = Edit("pant.xml").set("//i:pant/i:beloep/i:beloep/i:beloepsverdi", "0")
    assert only(await world.returned(edit.bytes())) == ("BELOEP_UGYLDIG", "IKKE_GODKJENT", 1, 1)


async def test_an_annen_heftelse_is_signed_by_the_owner_of_what_it_burdens(world: World) -> None:
    edit = Edit("annenHeftelse.xml").remove("//i:signatur")
    assert only(await world.returned(edit.bytes())) == ("HJEMMELSHAVER_HAR_IKKE_SIGNERT", "IKKE_GODKJENT", 1, 1)
    stranger = Edit("annenHeftelse.xml").set("//i:begrensetTil//i:identifikasjonsnummer", "15048049622")
    stranger.set("//i:begrensetTil//i:navn", "Kari Nordmann").set(
        "//i:signatur/i:personidentifikasjonsnummer", "15048049622"
    )
    assert "ANDEL_FINNES_IKKE" in (await world.returned(stranger.bytes())).codes


async def test_a_sletting_names_an_active_right(world: World) -> None:
    edit = Edit("sletting.xml").set(f"{FIRST_REF}/i:dokumentnummer", "999")
    assert only(await world.returned(edit.bytes())) == ("RETTIGHET_FINNES_IKKE", "IKKE_GODKJENT", 1, 1)
    await world.send(example("sletting.xml"))
    again = Edit("sletting.xml").set("//i:forsendelsesreferanse", "9b")
    assert {f.kodeverdi for f in (await world.returned(again.bytes())).findings} == {"RETTIGHET_FINNES_IKKE"}


async def test_a_sletting_names_the_right_type(world: World) -> None:
    edit = Edit("sletting.xml").set(f"{FIRST_REF}/i:rettsstiftelsestype/i:kodeverdi", "AH_URK")
    assert only(await world.returned(edit.bytes())) == ("RETTIGHET_FEIL_TYPE", "IKKE_GODKJENT", 1, 1)


async def test_a_sletting_is_signed_by_the_holder(world: World) -> None:
    edit = Edit("sletting.xml").remove("//i:signatur").set("//i:innsender/i:identifikasjonsnummer", "930000000")
    final = await world.returned(edit.bytes())
    assert {(f.kodeverdi, f.utfall) for f in final.findings} == {("RETTIGHETSHAVER_HAR_IKKE_SIGNERT", "IKKE_GODKJENT")}


def _nedkvittering(amount: int) -> Edit:
    edit = Edit("sletting.xml").rename("//i:sletting", "nedkvittering")
    edit.set("//i:nedkvittering/i:rettsstiftelsestype/i:kodeverdi", "NE_NEK").remove("//i:delAvRett[2]")
    return edit.add(
        "//i:nedkvittering",
        "<beloepNedkvittertTil><beloep>"
        f"<beloepsverdi>{amount}</beloepsverdi>"
        "<valutakode><kodeverdi>NOK</kodeverdi><navn>Norske kroner</navn></valutakode>"
        "</beloep></beloepNedkvittertTil>",
    )


async def test_nedkvittering_lowers_the_amount(world: World) -> None:
    assert only(await world.returned(_nedkvittering(2_000_000).bytes())) == (
        "NEDKVITTERING_OEKER_BELOEP",
        "IKKE_GODKJENT",
        1,
        1,
    )
    *_, final = await world.send(_nedkvittering(700_000).bytes())
    assert final.utfall == "TINGLYST"
    rights = (await world.register.extract(Matrikkelenhet("0301", 82, 1))).rights
    assert [r.beloep for r in rights if str(r.ref) == "2013/123-1/200"] == [700_000]


def _transport(fra: str) -> Edit:
    names = {"911044110": "NORDEA BANK NORGE ASA", "920000002": "Fjellkysten Bank ASA"}
    edit = Edit("sletting.xml").rename("//i:sletting", "transport")
    edit.set("//i:transport/i:rettsstiftelsestype/i:kodeverdi", "TR_TRA").remove("//i:delAvRett[2]")
    return edit.add(
        "//i:transport",
        f"<fraRettighetshaver><person><navn>{names[fra]}</navn><identifikasjonsnummer>{fra}</identifikasjonsnummer>"
        "</person></fraRettighetshaver><tilRettighetshaver><person><navn>Nordlys Sparebank</navn>"
        "<identifikasjonsnummer>910000004</identifikasjonsnummer></person></tilRettighetshaver>"
        "<fraRealkobletTil/><tilRealkobletTil/>",
    )


async def test_transport_moves_a_right_from_its_holder(world: World) -> None:
    assert only(await world.returned(_transport("920000002").bytes())) == (
        "FRA_RETTIGHETSHAVER_STEMMER_IKKE",
        "IKKE_GODKJENT",
        1,
        1,
    )
    *_, final = await world.send(_transport("911044110").bytes())
    assert final.utfall == "TINGLYST"
    rights = (await world.register.extract(Matrikkelenhet("0301", 82, 1))).rights
    assert [r.holder.ident for r in rights if str(r.ref) == "2013/123-1/200" and r.holder] == ["910000004"]


def _vikelse(yielding: int, to: int) -> Edit:
    edit = Edit("sletting.xml").rename("//i:sletting", "prioritetsbestemmelseForDokumentnummer")
    edit.set("//i:prioritetsbestemmelseForDokumentnummer/i:rettsstiftelsestype/i:kodeverdi", "PR_PRV")
    edit.remove("//i:delAvRett[2]").set(f"{FIRST_REF}/i:dokumentnummer", str(yielding))
    return edit.add(
        "//i:prioritetsbestemmelseForDokumentnummer",
        "<veketFor><rettsstiftelseHenvisning><rettsstiftelseReferanse><dokumentaar>2013</dokumentaar>"
        f"<dokumentnummer>{to}</dokumentnummer><embetenummer>200</embetenummer>"
        "<rettsstiftelsesnummer>1</rettsstiftelsesnummer><rettsstiftelsestype><kodeverdi>OB_PDO</kodeverdi>"
        "<navn>PANTEDOKUMENT</navn></rettsstiftelsestype></rettsstiftelseReferanse></rettsstiftelseHenvisning></veketFor>"
        "<sidestiltMed/><medBeloep/><forBeloep/>",
    )


async def test_a_right_yields_only_to_rights_behind_it(world: World) -> None:
    """Priority is registration time: 2013/123 stands before 2013/456, so only 123 can yield to 456."""
    assert only(await world.returned(_vikelse(456, 123).bytes())) == ("PRIORITET_STEMMER_IKKE", "IKKE_GODKJENT", 1, 1)
    *_, final = await world.send(_vikelse(123, 456).set("//i:forsendelsesreferanse", "prio-2").bytes())
    assert final.utfall == "TINGLYST"


async def test_documents_are_judged_and_numbered_in_foelgebrev_order(world: World) -> None:
    """A pant by the buyer placed before the deed in the message passes, as the følgebrev puts the deed first;
    both documents share one registration time, numbered in følgebrev order."""
    sale = Edit("overdragelse.xml")
    pant = Edit("pant.xml").set("//i:dokument/i:dokumentreferanse", "2")
    pant.remove("//i:pant/i:hefterI/i:delAvRegisterenhetsrett[2]").remove(PANT_SHARE + "/..")
    pant.set("//i:hefterI//i:kommunenummer", "0605").set("//i:hefterI//i:kommunenavn", "Ringerike")
    pant.set("//i:hefterI//i:gaardsnummer", "38").set("//i:hefterI//i:bruksnummer", "98")
    pant.set("//i:pantsettere/i:person/i:navn", "STATENS KARTVERK")
    pant.set("//i:pantsettere/i:person/i:identifikasjonsnummer", "971040238").remove("//i:erklaeringOmSivilstand")
    sale.one("//i:dokumenter").insert(0, pant.one("//i:dokument"))
    sale.add("//i:dokumentrekkefoelge", "<referanse><gjelderDokumentreferanse>2</gjelderDokumentreferanse></referanse>")
    sale.add(
        "//i:ikkeDigitaleSignaturer",
        "<signatur><gjelderDokumentreferanse>2</gjelderDokumentreferanse>"
        "<personidentifikasjonsnummer>971040238</personidentifikasjonsnummer></signatur>",
    )
    *_, final = await world.send(sale.bytes())
    assert final.utfall == "TINGLYST", final.findings
    assert [(d[0], d[2]) for d in final.documents] == [("1", 1), ("2", 2)]


async def test_a_submission_is_registered_whole_or_not_at_all(world: World) -> None:
    reordered = Edit("overdragelse.xml").set("//i:forsendelsesreferanse", "atomisk")
    bad = Edit("pant.xml").set("//i:dokument/i:dokumentreferanse", "2").set("//i:hefterI//i:bruksnummer", "99")
    reordered.one("//i:dokumenter").append(bad.one("//i:dokument"))
    reordered.add(
        "//i:dokumentrekkefoelge", "<referanse><gjelderDokumentreferanse>2</gjelderDokumentreferanse></referanse>"
    )
    before = (await world.register.extract(Matrikkelenhet("0605", 38, 98))).owners
    final = await world.returned(reordered.bytes())
    assert ("REGISTERENHET_FINNES_IKKE", 2) in [(f.kodeverdi, f.dokumentindeks) for f in final.findings]
    assert {f.dokumentindeks for f in final.findings} == {2}
    assert (await world.register.extract(Matrikkelenhet("0605", 38, 98))).owners == before


async def test_valider_answers_control_results_only(world: World) -> None:
    documents = await world.register.document_count()
    [ok] = statuses(await world.kv.handle("valider", example("overdragelse.xml")))
    assert (ok.saksstatus, ok.utfall, ok.innsending_id, ok.findings, ok.documents) == (None, None, None, [], [])
    assert ok.root.find("{*}behandlingsinformasjon") is None
    bad = Edit("overdragelse.xml").set("//i:matrikkelenhet/i:bruksnummer", "99")
    [refused] = statuses(await world.kv.handle("valider", bad.bytes()))
    assert only(refused) == ("REGISTERENHET_FINNES_IKKE", "IKKE_GODKJENT", 1, 1)
    assert await world.register.document_count() == documents
    *_, final = await world.send(example("overdragelse.xml"))
    assert final.utfall == "TINGLYST"
