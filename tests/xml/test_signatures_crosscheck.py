"""The lean verifier against signxml: on valid and on tampered documents both must reach the same verdict."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml import DigestAlgorithm, SignatureConfiguration, SignatureMethod, XMLVerifier
from signxml.exceptions import InvalidSignature as SignxmlInvalid

from broker.domain.errors import Refusal
from broker.xml.keys import SigningCredential
from broker.xml.parsing import parse_xml
from broker.xml.pki import TestPki, create_ca, enterprise_subject, issue_certificate
from broker.xml.signing import sign_enveloped
from tests.fixtures.pki import sample_document
from tests.xml.test_signatures import BANK, DS, LIMITS, _bytes, _signed_root, _tree, _verifier

SIGNXML_PROFILE = SignatureConfiguration(
    location="./",
    expect_references=1,
    signature_methods=frozenset({SignatureMethod.RSA_SHA256, SignatureMethod.ECDSA_SHA256}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
)


def _flip_signature_value(root: etree._Element) -> etree._Element:
    value = root[-1].find(f"{DS}SignatureValue")
    raw = bytearray(base64.b64decode(value.text))
    raw[5] ^= 0x40
    value.text = base64.b64encode(bytes(raw)).decode()
    return root


def _swap_certificate(root: etree._Element, pki: TestPki) -> etree._Element:
    other = pki.credential("920000002").certificate
    cert = root[-1].find(f"{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate")
    cert.text = base64.b64encode(other.public_bytes(Encoding.DER)).decode()
    return root


def _rogue(pki: TestPki) -> etree._Element:
    ca_key, ca_cert = create_ca(name="Rogue CA")
    key, cert = issue_certificate(ca_key, ca_cert, enterprise_subject(BANK, "Nordlys Sparebank"))
    return sign_enveloped(_tree(sample_document()), SigningCredential(key, cert))


def _expired(pki: TestPki) -> etree._Element:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    key, cert = issue_certificate(
        pki.ca_private_key(),
        pki.ca_certificate(),
        enterprise_subject(BANK, "Nordlys Sparebank"),
        not_before=start,
        not_after=start + dt.timedelta(days=1),
    )
    return sign_enveloped(_tree(sample_document()), SigningCredential(key, cert))


CASES = {
    "valid": (lambda pki: _bytes(_signed_root(pki)), True),
    "content changed": (lambda pki: _bytes(_signed_root(pki)).replace(b"3900000", b"3900001"), False),
    "signature value changed": (lambda pki: _bytes(_flip_signature_value(_signed_root(pki))), False),
    "certificate swapped": (lambda pki: _bytes(_swap_certificate(_signed_root(pki), pki)), False),
    "digest changed": (lambda pki: _last_digest_changed(pki), False),
    "untrusted CA": (lambda pki: _bytes(_rogue(pki)), False),
    "expired certificate": (lambda pki: _bytes(_expired(pki)), False),
}


def _last_digest_changed(pki: TestPki) -> bytes:
    root = _signed_root(pki)
    digest = root[-1].find(f"{DS}SignedInfo/{DS}Reference/{DS}DigestValue")
    digest.text = base64.b64encode(bytes(32)).decode()
    return _bytes(root)


def _signxml_accepts(pki: TestPki, data: bytes) -> bool:
    try:
        XMLVerifier().verify(
            parse_xml(data, LIMITS).getroot(), ca_pem_file=str(pki.ca_cert_path), expect_config=SIGNXML_PROFILE
        )
    except (SignxmlInvalid, ValueError):
        return False
    return True


def _ours_accepts(pki: TestPki, data: bytes) -> bool:
    try:
        _verifier(pki).verify_enveloped(parse_xml(data, LIMITS))
    except Refusal:
        return False
    return True


@pytest.mark.parametrize("pki_name", ["test_pki", "test_pki_ec"])
@pytest.mark.parametrize("case", list(CASES))
def test_both_verifiers_agree(case: str, pki_name: str, request: pytest.FixtureRequest) -> None:
    pki: TestPki = request.getfixturevalue(pki_name)
    build, expected = CASES[case]
    data = build(pki)
    assert _signxml_accepts(pki, data) is expected
    assert _ours_accepts(pki, data) is expected


def test_both_return_the_same_signed_content(test_pki: TestPki) -> None:
    data = _bytes(_signed_root(test_pki))
    theirs = XMLVerifier().verify(
        parse_xml(data, LIMITS).getroot(), ca_pem_file=str(test_pki.ca_cert_path), expect_config=SIGNXML_PROFILE
    )
    ours = _verifier(test_pki).verify_enveloped(parse_xml(data, LIMITS))
    assert etree.tostring(ours.root, method="c14n", exclusive=True) == theirs.signed_data
