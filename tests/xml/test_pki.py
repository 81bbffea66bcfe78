"""The test PKI: layout, file modes, certificate subjects and the shared fixture."""

from __future__ import annotations

import datetime as dt
import stat

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from broker.domain.identifiers import is_valid_fodselsnummer, is_valid_orgnr
from broker.xml.keys import CredentialError, SigningCredential
from broker.xml.pki import (
    DEMO_ORGANISATIONS,
    DEMO_PERSONS,
    TestPki,
    create_ca,
    enterprise_subject,
    init_test_pki,
    issue_certificate,
    load_test_pki,
)


def _attr(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str:
    return str(cert.subject.get_attributes_for_oid(oid)[0].value)


def test_demo_identities_have_valid_check_digits() -> None:
    assert all(is_valid_orgnr(orgnr) for orgnr, _ in DEMO_ORGANISATIONS)
    assert all(is_valid_fodselsnummer(fnr) for fnr, _ in DEMO_PERSONS)
    assert len(DEMO_ORGANISATIONS) == 4 and len(DEMO_PERSONS) == 4


def test_fixture_holds_demo_organisations_and_persons(test_pki: TestPki) -> None:
    assert set(test_pki.enterprise) == {orgnr for orgnr, _ in DEMO_ORGANISATIONS}
    assert {fnr for fnr, _ in DEMO_PERSONS} <= set(test_pki.persons)
    assert test_pki.ca_cert_path.name == "ca.pem"


def test_private_keys_are_owner_only(test_pki: TestPki) -> None:
    for files in [*test_pki.enterprise.values(), *test_pki.persons.values()]:
        assert stat.S_IMODE(files.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(test_pki.ca_key_path.stat().st_mode) == 0o600


def test_enterprise_subject_names_orgnr(test_pki: TestPki) -> None:
    cred = test_pki.enterprise["930000000"].load()
    assert _attr(cred.certificate, NameOID.ORGANIZATION_IDENTIFIER) == "NTRNO-930000000"
    assert _attr(cred.certificate, NameOID.ORGANIZATION_NAME) == "Fjordmegleren Oppgjør AS"
    assert _attr(cred.certificate, NameOID.COMMON_NAME) == "Fjordmegleren Oppgjør AS"
    cred.certificate.verify_directly_issued_by(test_pki.ca_certificate())


def test_personal_subject_holds_fodselsnummer(test_pki: TestPki) -> None:
    fnr, name = DEMO_PERSONS[0]
    cert = test_pki.persons[fnr].load().certificate
    assert _attr(cert, NameOID.SERIAL_NUMBER) == fnr
    assert _attr(cert, NameOID.COMMON_NAME) == name


def test_credential_is_loaded_once(test_pki: TestPki) -> None:
    files = test_pki.enterprise["910000004"]
    assert files.load() is files.load()


def test_load_reopens_written_pki(test_pki: TestPki) -> None:
    again = load_test_pki(test_pki.directory)
    assert again.enterprise == test_pki.enterprise
    assert again.persons == test_pki.persons


def test_init_with_chosen_identities_and_ec_keys(tmp_path) -> None:
    pki = init_test_pki(tmp_path, [("910000004", "Nordlys Sparebank")], [], key_type="ec")
    assert list(pki.enterprise) == ["910000004"] and pki.persons == {}
    assert pki.enterprise["910000004"].load().is_ec


def test_issue_certificate_with_chosen_validity(test_pki: TestPki) -> None:
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    _, cert = issue_certificate(
        test_pki.ca_private_key(),
        test_pki.ca_certificate(),
        enterprise_subject("910000004", "Nordlys Sparebank"),
        key_type="ec",
        not_before=past,
        not_after=past + dt.timedelta(days=1),
    )
    assert cert.not_valid_after_utc == past + dt.timedelta(days=1)
    cert.verify_directly_issued_by(test_pki.ca_certificate())


def test_key_must_match_certificate(test_pki: TestPki) -> None:
    _, other_ca = create_ca(key_type="ec")
    cred = test_pki.enterprise["910000004"].load()
    with pytest.raises(CredentialError):
        SigningCredential(private_key=cred.private_key, certificate=other_ca)
