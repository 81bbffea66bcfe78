"""The mortgage deed in the official profile: the mortgagors' XML signatures on Kartverket's ``dokument``
verified against the trusted personal CAs, every pantsetter among the signers; a BankID SDO carried unread."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.schemasets.configured import open_set
from broker.schemasets.deed_check import MortgageDeedCheck
from broker.schemasets.package import PackageValidator
from broker.schemasets.schema_set import SchemaSet
from broker.xml.pki import DEMO_ORGANISATIONS, TestPki, init_test_pki
from broker.xml.trust import TrustStore
from broker.xml.verification import SignatureVerifier
from participants.cases import demo_sale_case
from participants.official.documents import deed_stand_in
from tests.fixtures.third_party import DSVE_SPEC, require_third_party
from tests.schemasets.packages import write_zip

CASE = demo_sale_case()
BUYERS = [p.fodselsnummer for p in CASE.buyer_persons]
DEED = {"messageType": "SignedMortgageDeed", "coverLetter": "Omitted"}


@pytest.fixture
def check(test_pki: TestPki) -> MortgageDeedCheck:
    return MortgageDeedCheck(SignatureVerifier(TrustStore.from_pem_files([test_pki.ca_cert_path])))


def _deed(pki: TestPki, signers: list[str]) -> bytes:
    return deed_stand_in(CASE, "NLS-1-9057", [pki.credential(fnr) for fnr in signers])


def _codes(findings: list) -> list[str]:  # type: ignore[type-arg]
    return [finding.code for finding in findings]


def test_a_deed_signed_by_every_mortgagor_passes(check: MortgageDeedCheck, test_pki: TestPki) -> None:
    assert len(BUYERS) == 2
    assert check("signedmortgagedeed_1.xml", _deed(test_pki, BUYERS)) == []


def test_a_missing_mortgagor_is_named_masked(check: MortgageDeedCheck, test_pki: TestPki) -> None:
    [finding] = check("signedmortgagedeed_1.xml", _deed(test_pki, BUYERS[:1]))
    assert finding.code == "deed:signature" and finding.file == "signedmortgagedeed_1.xml"
    assert f"{BUYERS[1][:6]}*****" in finding.message and BUYERS[1] not in finding.message


def test_an_unsigned_or_changed_deed_is_refused(check: MortgageDeedCheck, test_pki: TestPki) -> None:
    assert _codes(check("d.xml", _deed(test_pki, []))) == ["deed:signature"]
    signed = _deed(test_pki, BUYERS)
    amount = f"beloep>{CASE.new_mortgage_amount}<".encode()
    assert amount in signed
    changed = signed.replace(amount, f"beloep>{CASE.new_mortgage_amount + 1}<".encode())
    [finding] = check("d.xml", changed)
    assert finding.code == "deed:signature" and "changed" in finding.message


def test_a_signature_by_a_certificate_of_another_ca_is_refused(
    check: MortgageDeedCheck, tmp_path: Path, test_pki: TestPki
) -> None:
    persons = [(fnr, "Someone") for fnr in BUYERS]
    other = init_test_pki(tmp_path / "other", DEMO_ORGANISATIONS[:1], persons)
    assert _codes(check("d.xml", _deed(other, BUYERS))) == ["deed:signature"]
    assert check("d.xml", _deed(test_pki, BUYERS)) == []


def test_what_the_broker_cannot_verify_and_what_it_cannot_read(check: MortgageDeedCheck) -> None:
    sdo = b'<SDOList xmlns="http://www.npt.no/seid/xmlskjema/SDO_v1.0"><SDO/></SDOList>'
    assert check("signedmortgagedeed_1.xml", sdo) == []  # a BankID SDO: left to the recipient and Kartverket
    assert _codes(check("d.xml", b"<sdo>a deed</sdo>")) == ["deed:format"]
    assert _codes(check("d.xml", b"not xml")) == ["deed:format"]
    empty = b'<dokument xmlns="http://kartverket.no/grunnbok/wsapi/v2/domain/innsending"/>'
    assert _codes(check("d.xml", empty)) == ["deed:format"]
    doctype = b'<!DOCTYPE x [<!ENTITY e "e">]><SDOList xmlns="http://www.npt.no/seid/xmlskjema/SDO_v1.0"/>'
    assert _codes(check("d.xml", doctype)) == ["deed:format"]


@pytest.fixture(scope="module")
def dsve_set() -> SchemaSet:
    require_third_party()
    return open_set("dsve", DSVE_SPEC)


def test_the_package_check_runs_the_deed_check_on_xml_deeds_only(
    dsve_set: SchemaSet, check: MortgageDeedCheck, test_pki: TestPki, tmp_path: Path
) -> None:
    validator = PackageValidator(dsve_set, file_checks={"mortgage-deed": check})

    def verdict(files: dict[str, bytes], on: PackageValidator = validator) -> tuple[list[str], list[str]]:
        report = on.check_zip(write_zip(tmp_path / "deed.zip", files), DEED, sender_role="bank")
        return _codes(report.errors), _codes(report.warnings)

    assert verdict({"signedmortgagedeed_1.xml": _deed(test_pki, BUYERS)}) == ([], [])
    assert verdict({"signedmortgagedeed_1.xml": _deed(test_pki, BUYERS[1:])}) == (["deed:signature"], [])
    assert verdict({"signedmortgagedeed_1.sdo": b"\x00 binary SDO"}) == ([], [])
    # Where no verifier is configured, the deed is recorded as not checked, never passed as verified.
    unchecked = PackageValidator(dsve_set)
    assert verdict({"signedmortgagedeed_1.xml": _deed(test_pki, [])}, unchecked) == ([], ["mortgage-deed:unchecked"])
