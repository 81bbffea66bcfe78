"""The simulators' answers in the official DSVE profile: the statuses the specification prescribes, documents
valid against dsve.xsd, packages the broker's validator accepts, conversations whose rules all hold."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from lxml.builder import ElementMaker

from broker.domain.conversations import ConversationMessage, judge
from broker.domain.identifiers import is_valid_kid
from broker.schemasets.configured import open_set
from broker.schemasets.package import PackageValidator
from participants.cases import SaleCase, demo_sale_case
from participants.messages.model import Matrikkelenhet
from participants.official import documents
from participants.official.payoff import LoanAccount, LoanBook, Payment, UnknownPayment, kid_for
from participants.official.responders import Loan, MeglerResponder, Reply, SellersBankResponder
from participants.official.schema import OfficialSchema
from tests.fixtures.third_party import DSVE_SPEC, require_third_party

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
INN = ElementMaker(namespace="http://kartverket.no/grunnbok/wsapi/v2/domain/innsending")


@pytest.fixture(scope="module")
def schema() -> OfficialSchema:
    require_third_party()
    return OfficialSchema(DSVE_SPEC)


@pytest.fixture(scope="module")
def validator() -> PackageValidator:
    require_third_party()
    return PackageValidator(open_set("dsve", DSVE_SPEC))


def _package(tmp_path: Path, reply: Reply) -> Path:
    path = tmp_path / "reply.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in reply.files.items():
            archive.writestr(name, data)
    return path


def _as_message(
    validator: PackageValidator, kind: str, data: bytes, sender: str, to: str, role: str
) -> ConversationMessage:
    report = validator.check_xml(
        "m.xml", data, {"messageType": kind, "status": "RutetSuksessfullt", "statusDescription": "ok"}, role
    )
    assert report.errors == [], [str(f) for f in report.errors]
    return ConversationMessage(
        kind,
        sender,
        (to,),
        report.routing.get("sender_reference"),
        report.routing.get("recipient_reference"),
        sender_role=role,
    )


def test_an_intention_gets_routed_and_the_conversation_holds(
    schema: OfficialSchema, validator: PackageValidator, tmp_path: Path
) -> None:
    case = demo_sale_case()
    request = schema.encode(*documents.intention_from_bank(case, "LAAN-77", NOW))
    reply = MeglerResponder(schema, [case], lambda: NOW).on_intention(request)
    assert (reply.status, list(reply.properties)) == (
        "RutetSuksessfullt",
        ["messageType", "status", "statusDescription"],
    )
    report = validator.check_zip(
        _package(tmp_path, reply), reply.properties, "megler", case.megler.orgnr, [case.buyers_bank.orgnr]
    )
    assert report.errors == [] and report.routing["recipient_reference"] == "LAAN-77"
    asked = _as_message(validator, "IntensjonFraBank", request, case.buyers_bank.orgnr, case.megler.orgnr, "bank")
    answered = _as_message(
        validator,
        "IntensjonssvarFraMegler",
        next(iter(reply.files.values())),
        case.megler.orgnr,
        case.buyers_bank.orgnr,
        "megler",
    )
    assert judge(answered, [asked]).broken == ()


def test_intention_nacks_by_the_specification(
    schema: OfficialSchema, validator: PackageValidator, tmp_path: Path
) -> None:
    case = demo_sale_case()
    megler = MeglerResponder(schema, [case], lambda: NOW)
    elsewhere = replace(case, unit=Matrikkelenhet("0301", 1, 1))
    assert (
        megler.on_intention(schema.encode(*documents.intention_from_bank(elsewhere, "L", NOW))).status
        == "UkjentRegisterenhet"
    )
    strangers = replace(case, buyers=case.sellers)
    nack = megler.on_intention(schema.encode(*documents.intention_from_bank(strangers, "L", NOW)))
    assert (nack.status, nack.files) == ("UgyldigKjøper", {})
    # A NACK goes as an empty ZIP, which the broker accepts for a NACK.
    assert validator.check_zip(_package(tmp_path, nack), nack.properties, "megler").errors == []
    assert megler.on_intention(b"<intensjonfrabank/>").status == "Avvist"


def _deed(case: SaleCase, debtor: str) -> bytes:
    unit = case.unit
    assert isinstance(unit, Matrikkelenhet)
    document = INN.dokument(
        INN.dokumentreferanse("NLS-1-9057"),
        INN.rettsstiftelser(
            INN.pant(
                INN.hefterI(
                    INN.registerenhet(
                        INN.matrikkelenhet(
                            INN.kommunenummer(unit.kommunenummer),
                            INN.gaardsnummer(str(unit.gaardsnummer)),
                            INN.bruksnummer(str(unit.bruksnummer)),
                            INN.festenummer(str(unit.festenummer)),
                            INN.seksjonsnummer(str(unit.seksjonsnummer)),
                        )
                    )
                ),
                INN.pantsettere(INN.person(INN.identifikasjonsnummer(debtor))),
            )
        ),
    )
    from lxml import etree

    return bytes(etree.tostring(document, xml_declaration=True, encoding="UTF-8"))


def test_a_mortgage_deed_gets_its_receipt(schema: OfficialSchema, validator: PackageValidator, tmp_path: Path) -> None:
    case = demo_sale_case()
    megler = MeglerResponder(schema, [case], lambda: NOW)
    buyer = case.buyer_persons[0].fodselsnummer
    properties = {"messageType": "SignedMortgageDeed", "coverLetter": "Omitted"}
    routed = megler.on_mortgage_deed(properties, {"signedmortgagedeed_1.xml": _deed(case, buyer)})
    assert routed.status == "RoutedSuccessfully"
    assert validator.check_zip(_package(tmp_path, routed), routed.properties, "megler").errors == []
    seller = case.seller_persons[0].fodselsnummer
    assert (
        megler.on_mortgage_deed(properties, {"signedmortgagedeed_1.xml": _deed(case, seller)}).status
        == "DebitorMismatch"
    )
    other = replace(case, unit=Matrikkelenhet("0301", 2, 2))
    assert (
        megler.on_mortgage_deed(properties, {"signedmortgagedeed_1.xml": _deed(other, buyer)}).status
        == "UnknownCadastre"
    )
    assert megler.on_mortgage_deed(properties, {"signedmortgagedeed_1.sdo": b"..."}).status == "Rejected"


def test_the_sellers_bank_answers_a_debt_request(
    schema: OfficialSchema, validator: PackageValidator, tmp_path: Path
) -> None:
    case = demo_sale_case()
    request = schema.encode(*documents.debt_request(case, NOW))
    bank = SellersBankResponder(schema, [case], [Loan(case.unit, "12345678903", 1_500_000)])
    reply = bank.on_debt_request(request)
    assert reply.status == "RutetSuksessfullt"
    report = validator.check_zip(
        _package(tmp_path, reply), reply.properties, "bank", case.sellers_bank.orgnr, [case.megler.orgnr]
    )
    assert report.errors == [] and report.routing["recipient_reference"] == case.reference
    assert SellersBankResponder(schema, [case], []).on_debt_request(request).status == "LaanNedbetalt"


def test_the_sellers_bank_quotes_the_payoff_and_books_the_payment(
    schema: OfficialSchema, validator: PackageValidator, tmp_path: Path
) -> None:
    case = demo_sale_case()
    day = date(2026, 12, 7)
    bank = SellersBankResponder(
        schema,
        [case],
        [Loan(case.unit, "12345678903", 1_000_000)],
        book=LoanBook([LoanAccount("12345678903", 1_000_000, day, kid_for("12345678903", case.reference))]),
    )
    request = schema.encode(*documents.payoff_request(case, bank.reference, [day, day + timedelta(days=10)]))
    reply = bank.on_payoff_request(request)
    assert reply.status == "RutetSuksessfullt"
    report = validator.check_zip(
        _package(tmp_path, reply), reply.properties, "bank", case.sellers_bank.orgnr, [case.megler.orgnr]
    )
    assert report.errors == [], [str(f) for f in report.errors]
    assert report.routing["recipient_reference"] == case.reference
    _, answer = schema.decode(next(iter(reply.files.values())))
    loan = answer["laanliste"]["laan"][0]
    amounts = [int(float(b["beloep"])) for b in loan["saldoerPerDato"]["saldoPerDato"]]
    assert amounts[0] == 1_000_000 and amounts[1] > amounts[0]  # interest accrues to the later date
    kid = str(loan["kidnummer"])
    assert is_valid_kid(kid)
    # Only a payment that covers the payoff of its day, with the loan's KID, pays the loan off.
    with pytest.raises(UnknownPayment):
        bank.book.receive(Payment("12345678903", "0" + kid, 1_000_000, day))
    assert not bank.book.receive(Payment("12345678903", kid, 999_999, day))
    assert bank.book.receive(Payment("12345678903", kid, 1, day))
    assert SellersBankResponder(schema, [case], []).on_payoff_request(request).status == "LaanNedbetalt"
