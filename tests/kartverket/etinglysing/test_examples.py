"""Kartverket's own example submissions against the seeded register: each valid one ends TINGLYST with its
document numbers and a changed register, or with the control result a real submission would get."""

from __future__ import annotations

import base64

import pytest

from participants.kartverket.etinglysing.schema import Unreadable
from participants.kartverket.etinglysing.service import ETinglysing
from participants.kartverket.model import Borettslagsandel, Matrikkelenhet, Party, RightKind
from tests.kartverket.etinglysing.conftest import EXAMPLES, Status, example, open_service, statuses

NORDEA = Party.organisation("911044110")

REGISTERED = [
    ("overdragelse.xml", "minReferanse#1", [Matrikkelenhet("0605", 38, 98)]),
    ("overdragelse-borettslag.xml", "minReferanse#1", [Borettslagsandel("959096503", 2)]),
    ("overdragelse-festerett-uten-bygning.xml", "overdragelse.festerett", [Matrikkelenhet("0301", 100, 17, 1)]),
    ("pant.xml", "pant.test", [Matrikkelenhet("0301", 82, 1), Borettslagsandel("952923978", 1)]),
    ("annenHeftelse.xml", "annen.heftelse", [Matrikkelenhet("0301", 82, 1)]),
    ("sletting.xml", "sletting.1", [Matrikkelenhet("0301", 82, 1)]),
    ("anmerkning-paa-person-konkursmelding.xml", "anmerkning.test", [Matrikkelenhet("0301", 82, 3)]),
    (
        "tvangsforretning.xml",
        "tvangsforretning",
        [
            Matrikkelenhet("0301", 82, 1),
            Borettslagsandel("952923978", 1),
            Matrikkelenhet("0301", 82, 2),
            Borettslagsandel("952923978", 2),
        ],
    ),
]


def test_every_example_is_covered() -> None:
    covered = {name for name, _, _ in REGISTERED} | {
        "fradeling.xml",
        "sammenslaaing-av-matrikkelenheter.xml",
        "overfoering-fra-tidligere-festenummer.xml",
        "signert-pant.xml",
        "ugyldig.xml",
        "hentStatus.xml",
    }
    assert covered == {path.name for path in EXAMPLES.glob("*.xml")}


@pytest.mark.parametrize(("name", "reference", "units"), REGISTERED, ids=[r[0] for r in REGISTERED])
async def test_example_is_registered(kv: ETinglysing, name: str, reference: str, units: list[object]) -> None:
    received, registered, final = statuses(await kv.handle("sendTilTinglysing", example(name)))
    assert (received.saksstatus, received.utfall, received.innsending_id) == ("MOTTATT", "UAVKLART", "1010001")
    assert (registered.saksstatus, registered.utfall) == ("UNDER_BEHANDLING", "UAVKLART")
    assert registered.text("i:registreringstidspunkt")
    assert (final.saksstatus, final.utfall, final.findings) == ("AVSLUTTET", "TINGLYST", [])
    # the register had no document of 2026 before: the first gets number 1 at office 200
    assert final.documents == [("1", 2026, 1, "200", [(reference, 1)])]
    extracts = final.extracts
    assert len(extracts) == len(units)
    for element in extracts:
        pdf = base64.b64decode(element.findtext(".//{*}usignertDokument") or "")
        assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert final.text("i:registreringstidspunkt") == registered.text("i:registreringstidspunkt")


async def test_registered_examples_change_the_register(tmp_path) -> None:
    register, kv = await open_service(tmp_path)
    try:
        await kv.handle("sendTilTinglysing", example("overdragelse.xml"))
        owners = (await register.extract(Matrikkelenhet("0605", 38, 98))).owners
        assert [(s.holder.ident, s.teller, s.nevner) for s in owners] == [("971040238", 1, 1)]

        await kv.handle("sendTilTinglysing", example("overdragelse-festerett-uten-bygning.xml"))
        owners = (await register.extract(Matrikkelenhet("0301", 100, 17, 1))).owners
        assert sorted((s.holder.ident, s.teller, s.nevner) for s in owners) == [
            ("15048049689", 1, 2),
            ("30101400022", 1, 2),
        ]

        await kv.handle("sendTilTinglysing", example("pant.xml"))
        for unit in (Matrikkelenhet("0301", 82, 1), Borettslagsandel("952923978", 1)):
            pants = [
                r for r in (await register.extract(unit)).rights if r.kind is RightKind.PANT and r.holder == NORDEA
            ]
            assert any(r.beloep == 1_000_000 and str(r.ref.document) == "2026/3/200" for r in pants)

        before = {str(r.ref) for r in (await register.extract(Matrikkelenhet("0301", 82, 1))).rights}
        await kv.handle("sendTilTinglysing", example("sletting.xml"))
        after = {str(r.ref) for r in (await register.extract(Matrikkelenhet("0301", 82, 1))).rights}
        assert before - after == {"2013/123-1/200", "2013/456-1/200"}
    finally:
        await register.close()


async def test_burdens_and_transfers_of_the_examples_are_in_the_register(tmp_path) -> None:
    register, kv = await open_service(tmp_path)
    try:
        for name in (
            "overdragelse-borettslag.xml",
            "annenHeftelse.xml",
            "tvangsforretning.xml",
            "anmerkning-paa-person-konkursmelding.xml",
        ):
            *_, final = statuses(await kv.handle("sendTilTinglysing", example(name)))
            assert final.utfall == "TINGLYST", (name, final.findings)
        owners = (await register.extract(Borettslagsandel("959096503", 2))).owners
        assert [(s.holder.ident, s.teller, s.nevner) for s in owners] == [("975950662", 1, 1)]
        burdens = {}
        for unit in (
            Matrikkelenhet("0301", 82, 1),
            Matrikkelenhet("0301", 82, 2),
            Matrikkelenhet("0301", 82, 3),
            Borettslagsandel("952923978", 1),
            Borettslagsandel("952923978", 2),
        ):
            rights = (await register.extract(unit)).rights
            burdens[str(unit)] = sorted(
                (r.kind.value, str(r.ref.document)) for r in rights if r.ref.document.year == 2026
            )
        assert burdens == {
            "0301-82/1": [("uraadighet", "2026/2/200"), ("utlegg", "2026/3/200")],
            "0301-82/2": [("utlegg", "2026/3/200")],
            "0301-82/3": [("anmerkning", "2026/4/200")],
            "borettslag 952923978 andel 1": [("utlegg", "2026/3/200")],
            "borettslag 952923978 andel 2": [("utlegg", "2026/3/200")],
        }
    finally:
        await register.close()


@pytest.mark.parametrize(
    "name", ["fradeling.xml", "sammenslaaing-av-matrikkelenheter.xml", "overfoering-fra-tidligere-festenummer.xml"]
)
async def test_cadastre_changes_are_returned(tmp_path, name: str) -> None:
    """Only the cadastre (matrikkelen) sends these: a bank's submission is returned, nothing registered."""
    register, kv = await open_service(tmp_path)
    try:
        documents = await register.document_count()
        received, final = statuses(await kv.handle("sendTilTinglysing", example(name)))
        assert received.saksstatus == "MOTTATT"
        assert (final.saksstatus, final.utfall) == ("AVSLUTTET", "AVVIST")
        assert [(f.kodeverdi, f.utfall, f.dokumentindeks, f.rettsstiftelsesindeks) for f in final.findings] == [
            ("RETTSSTIFTELSESTYPE_IKKE_TILLATT", "IKKE_GODKJENT", 1, 1)
        ]
        assert final.documents == [] and await register.document_count() == documents
    finally:
        await register.close()


async def test_signed_example_is_returned_for_its_signatures(kv: ETinglysing) -> None:
    """The signed example's BankID test certificates expired years ago and the simulator trusts no BankID CA;
    its signed følgebrev uses an element name the schema no longer has."""
    _, final = statuses(await kv.handle("sendTilTinglysing", example("signert-pant.xml")))
    assert (final.saksstatus, final.utfall) == ("AVSLUTTET", "AVVIST")
    assert final.codes == {"SIGNATUR_UGYLDIG"}
    reasons = " ".join(r for f in final.findings for r in f.begrunnelser)
    assert "utløpt 2016-11-03" in reasons and "følgebrevet" in reasons


async def test_invalid_example_is_refused_with_the_schema_errors(kv: ETinglysing) -> None:
    with pytest.raises(Unreadable) as refused:
        await kv.handle("sendTilTinglysing", example("ugyldig.xml"))
    [error] = refused.value.errors
    assert error.line == 3 and "usignertMelding" in error.message and "forsendelsesreferanse" in error.message


async def test_hent_status_example_answers_the_status(tmp_path) -> None:
    register, kv = await open_service(tmp_path, first_innsending_id=1010010)
    try:
        *_, final = await kv.handle("sendTilTinglysing", example("overdragelse.xml"))
        [status] = statuses(await kv.handle("hentStatus", example("hentStatus.xml"), sender="911044110"))
        assert isinstance(status, Status)
        assert (status.innsending_id, status.saksstatus, status.utfall) == ("1010010", "AVSLUTTET", "TINGLYST")
        assert status.root.findtext("{*}forsendelsesreferanse") == "3"
        assert await kv.handle("hentStatus", example("hentStatus.xml")) == [final]
    finally:
        await register.close()
