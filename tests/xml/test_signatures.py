"""Signing and verifying in the broker's XML-DSig profile: round trips and every refusal the profile names."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree
from signxml import DigestAlgorithm, SignatureConstructionMethod, SignatureMethod, XMLSigner

from broker.config import XmlLimits
from broker.domain.errors import Error, Refusal
from broker.xml.keys import SigningCredential
from broker.xml.parsing import parse_xml
from broker.xml.pki import TestPki, create_ca, enterprise_subject, issue_certificate, personal_subject
from broker.xml.signing import (
    EXC_C14N,
    SigningError,
    sign_enveloped,
    sign_enveloped_bytes,
    sign_inner_document,
)
from broker.xml.trust import TrustStore
from broker.xml.verification import DS_NS, SignatureVerifier, VerifiedDocument, require_signer_orgnr
from tests.fixtures.pki import SAMPLE_NS, SAMPLE_PANT_ID, sample_document

LIMITS = XmlLimits()
BANK = "910000004"
KARI, OLA = "15889210181", "03928810037"
DS = f"{{{DS_NS}}}"


def _tree(data: bytes) -> etree._Element:
    return parse_xml(data, LIMITS).getroot()


def _container(root: etree._Element) -> etree._Element:
    return root.find(f"{{{SAMPLE_NS}}}signaturer")


def _signed_root(pki: TestPki, orgnr: str = BANK, signers: tuple[str, ...] = (KARI, OLA)) -> etree._Element:
    root = _tree(sample_document())
    for fnr in signers:
        sign_inner_document(root, SAMPLE_PANT_ID, _container(root), pki.credential(fnr))
    return sign_enveloped(root, pki.credential(orgnr))


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _signed(pki: TestPki, **kwargs: object) -> bytes:
    return _bytes(_signed_root(pki, **kwargs))  # type: ignore[arg-type]


def _verifier(pki: TestPki, clock=None) -> SignatureVerifier:
    return SignatureVerifier(TrustStore.from_pem_files([pki.ca_cert_path]), clock)


def _verify(pki: TestPki, data: bytes, clock=None) -> VerifiedDocument:
    """Verify in a private copy and, as intake does, in place on a tree parsed for it: same answer both ways."""
    verifier = _verifier(pki, clock)
    try:
        plain = verifier.verify_enveloped(parse_xml(data, LIMITS))
    except Refusal as refused:
        with pytest.raises(Refusal) as in_place:
            verifier.verify_enveloped(parse_xml(data, LIMITS), owned=True)
        assert in_place.value.error is refused.error  # (a detail may name the time of the check)
        raise
    in_place_result = verifier.verify_enveloped(parse_xml(data, LIMITS), owned=True)
    assert etree.tostring(in_place_result.root) == etree.tostring(plain.root)
    assert in_place_result.signer == plain.signer
    return plain


def _refusal(pki: TestPki, data: bytes, error: Error, clock=None) -> str:
    with pytest.raises(Refusal) as caught:
        _verify(pki, data, clock)
    assert caught.value.error is error, caught.value
    return caught.value.detail


@pytest.mark.parametrize("pki_name", ["test_pki", "test_pki_ec"])
def test_round_trip(pki_name: str, request: pytest.FixtureRequest) -> None:
    pki: TestPki = request.getfixturevalue(pki_name)
    verified = _verify(pki, _signed(pki))
    assert verified.signer.orgnr == BANK
    assert verified.signer.fodselsnummer is None
    assert require_signer_orgnr(verified.signer, BANK) is verified.signer
    signers = _verifier(pki).verify_inner(verified.root, SAMPLE_PANT_ID)
    assert [s.fodselsnummer for s in signers] == [KARI, OLA]


def test_ecdsa_signature_uses_ecdsa_sha256(test_pki_ec: TestPki) -> None:
    root = _signed_root(test_pki_ec)
    method = root[-1].find(f"{DS}SignedInfo/{DS}SignatureMethod").get("Algorithm")
    assert method == "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"


def test_signature_is_last_child_with_profile(test_pki: TestPki) -> None:
    root = _signed_root(test_pki)
    signature = root[-1]
    assert signature.tag == f"{DS}Signature"
    reference = signature.find(f"{DS}SignedInfo/{DS}Reference")
    assert reference.get("URI") == ""
    transforms = [t.get("Algorithm") for t in reference.iterfind(f"{DS}Transforms/{DS}Transform")]
    assert transforms == ["http://www.w3.org/2000/09/xmldsig#enveloped-signature", EXC_C14N.value]
    assert signature.find(f"{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate") is not None


def test_bytes_round_trip(test_pki: TestPki) -> None:
    signed = sign_enveloped_bytes(sample_document(), test_pki.credential("930000000"))
    assert signed.startswith(b"<?xml")
    assert _verify(test_pki, signed).signer.orgnr == "930000000"


def test_signing_twice_is_refused(test_pki: TestPki) -> None:
    with pytest.raises(SigningError):
        sign_enveloped(_signed_root(test_pki), test_pki.credential(BANK))


def test_verified_root_is_a_copy_without_signature(test_pki: TestPki) -> None:
    tree = parse_xml(_signed(test_pki), LIMITS)
    verified = _verifier(test_pki).verify_enveloped(tree)
    assert verified.root is not tree.getroot()
    assert verified.root.find(f"{DS}Signature") is None
    tree.getroot().find(f"{{{SAMPLE_NS}}}pant/{{{SAMPLE_NS}}}beloep").text = "1"
    assert verified.root.find(f"{{{SAMPLE_NS}}}pant/{{{SAMPLE_NS}}}beloep").text == "3900000"


def test_signer_mismatch(test_pki: TestPki) -> None:
    verified = _verify(test_pki, _signed(test_pki))
    with pytest.raises(Refusal) as caught:
        require_signer_orgnr(verified.signer, "920000002")
    assert caught.value.error is Error.SIGNER_MISMATCH


def test_unsigned_document_is_missing_signature(test_pki: TestPki) -> None:
    _refusal(test_pki, sample_document(), Error.SIGNATURE_MISSING)


def test_tampered_content_is_refused(test_pki: TestPki) -> None:
    data = _signed(test_pki).replace(b"<beloep>3650000</beloep>", b"<beloep>3650001</beloep>")
    assert "digest" in _refusal(test_pki, data, Error.SIGNATURE_INVALID)


def test_tampered_signature_value_is_refused(test_pki: TestPki) -> None:
    root = _signed_root(test_pki)
    value = root[-1].find(f"{DS}SignatureValue")
    raw = bytearray(base64.b64decode(value.text))
    raw[10] ^= 1
    value.text = base64.b64encode(bytes(raw)).decode()
    assert "SignatureValue" in _refusal(test_pki, _bytes(root), Error.SIGNATURE_INVALID)


def test_unsigned_element_after_signature_is_refused(test_pki: TestPki) -> None:
    data = _signed(test_pki).replace(b"</pantedokument>", b"<forutsetningsbrev/></pantedokument>")
    assert "last child" in _refusal(test_pki, data, Error.SIGNATURE_INVALID)


def test_unsigned_element_beside_signed_content_is_refused(test_pki: TestPki) -> None:
    root = _signed_root(test_pki)
    extra = etree.SubElement(root, f"{{{SAMPLE_NS}}}forutsetningsbrev")
    root[-1].addprevious(extra)
    _refusal(test_pki, _bytes(root), Error.SIGNATURE_INVALID)


def test_second_signature_is_refused(test_pki: TestPki) -> None:
    root = _signed_root(test_pki)
    other = _signed_root(test_pki, orgnr="920000002")
    root[-1].addprevious(other[-1])
    assert "exactly one" in _refusal(test_pki, _bytes(root), Error.SIGNATURE_INVALID)


def test_reference_to_an_id_is_refused(test_pki: TestPki) -> None:
    cred = test_pki.credential(BANK)
    signer = XMLSigner(
        method=SignatureConstructionMethod.enveloped,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=EXC_C14N,
    )
    signed = signer.sign(
        _tree(sample_document()), key=cred.private_key, cert=cred.certificates, reference_uri="#pant-1"
    )
    assert 'URI=""' in _refusal(test_pki, _bytes(signed), Error.SIGNATURE_INVALID)


def test_key_value_beside_certificate_is_refused(test_pki: TestPki) -> None:
    cred = test_pki.credential(BANK)
    signer = XMLSigner(
        signature_algorithm=SignatureMethod.RSA_SHA256, digest_algorithm=DigestAlgorithm.SHA256, c14n_algorithm=EXC_C14N
    )
    signed = signer.sign(
        _tree(sample_document()), key=cred.private_key, cert=cred.certificates, always_add_key_value=True
    )
    assert "KeyInfo" in _refusal(test_pki, _bytes(signed), Error.SIGNATURE_INVALID)


def test_hmac_is_refused(test_pki: TestPki) -> None:
    signer = XMLSigner(signature_algorithm=SignatureMethod.HMAC_SHA256, c14n_algorithm=EXC_C14N)
    signed = signer.sign(_tree(sample_document()), key=b"a shared secret the broker never accepts")
    assert "HMAC" in _refusal(test_pki, _bytes(signed), Error.SIGNATURE_INVALID)


def _resign_with_sha1(root: etree._Element, cred: SigningCredential) -> etree._Element:
    """Turn a valid signature into a genuine RSA-SHA1 / SHA-1 one (signxml will not make SHA-1)."""
    signature = root[-1]
    signed_info = signature.find(f"{DS}SignedInfo")
    signed_info.find(f"{DS}SignatureMethod").set("Algorithm", "http://www.w3.org/2000/09/xmldsig#rsa-sha1")
    reference = signed_info.find(f"{DS}Reference")
    reference.find(f"{DS}DigestMethod").set("Algorithm", "http://www.w3.org/2000/09/xmldsig#sha1")
    content = etree.fromstring(etree.tostring(root))
    content.remove(content[-1])
    digest = hashlib.sha1(etree.tostring(content, method="c14n", exclusive=True)).digest()
    reference.find(f"{DS}DigestValue").text = base64.b64encode(digest).decode()
    c14n = etree.tostring(signed_info, method="c14n", exclusive=True)
    value = cred.private_key.sign(c14n, padding.PKCS1v15(), hashes.SHA1())  # type: ignore[call-arg]
    signature.find(f"{DS}SignatureValue").text = base64.b64encode(value).decode()
    return root


def test_sha1_signature_is_refused(test_pki: TestPki) -> None:
    cred = test_pki.credential(BANK)
    root = _resign_with_sha1(sign_enveloped(_tree(sample_document()), cred), cred)
    assert "SHA-1" in _refusal(test_pki, _bytes(root), Error.SIGNATURE_INVALID)


def test_certificate_from_another_ca_is_untrusted(test_pki: TestPki) -> None:
    ca_key, ca_cert = create_ca(name="Rogue CA")
    key, cert = issue_certificate(ca_key, ca_cert, enterprise_subject(BANK, "Nordlys Sparebank"))
    rogue = SigningCredential(private_key=key, certificate=cert)
    data = _bytes(sign_enveloped(_tree(sample_document()), rogue))
    assert "trusted CA" in _refusal(test_pki, data, Error.CERTIFICATE_UNTRUSTED)


def test_self_signed_ca_certificate_as_signer_is_untrusted(test_pki: TestPki) -> None:
    ca = SigningCredential(private_key=test_pki.ca_private_key(), certificate=test_pki.ca_certificate())
    data = _bytes(sign_enveloped(_tree(sample_document()), ca))
    _refusal(test_pki, data, Error.CERTIFICATE_UNTRUSTED)


def test_expired_certificate_is_refused(test_pki: TestPki) -> None:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    key, cert = issue_certificate(
        test_pki.ca_private_key(),
        test_pki.ca_certificate(),
        enterprise_subject(BANK, "Nordlys Sparebank"),
        not_before=start,
        not_after=start + dt.timedelta(days=1),
    )
    expired = SigningCredential(private_key=key, certificate=cert)
    data = _bytes(sign_enveloped(_tree(sample_document()), expired))
    detail = _refusal(test_pki, data, Error.CERTIFICATE_EXPIRED)
    assert detail.startswith(f"the signing certificate is valid from {start.replace(microsecond=0).isoformat()}")
    assert "not at" in detail


def test_valid_certificate_expires_with_the_clock(test_pki: TestPki) -> None:
    data = _signed(test_pki)
    assert _verify(test_pki, data).signer.orgnr == BANK
    verifier = _verifier(test_pki, clock=lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=20 * 365))
    with pytest.raises(Refusal) as caught:
        verifier.verify_enveloped(parse_xml(data, LIMITS))
    assert caught.value.error is Error.CERTIFICATE_EXPIRED


def test_tampered_inner_document_is_caught(test_pki: TestPki) -> None:
    root = _tree(sample_document())
    for fnr in (KARI, OLA):
        sign_inner_document(root, SAMPLE_PANT_ID, _container(root), test_pki.credential(fnr))
    root.find(f"{{{SAMPLE_NS}}}pant/{{{SAMPLE_NS}}}beloep").text = "9900000"
    verified = _verify(test_pki, _bytes(sign_enveloped(root, test_pki.credential(BANK))))
    with pytest.raises(Refusal) as caught:
        _verifier(test_pki).verify_inner(verified.root, SAMPLE_PANT_ID)
    assert caught.value.error is Error.SIGNATURE_INVALID
    assert "signature 1" in caught.value.detail


def test_one_tampered_inner_signature_is_caught(test_pki: TestPki) -> None:
    root = _tree(sample_document())
    for fnr in (KARI, OLA):
        sign_inner_document(root, SAMPLE_PANT_ID, _container(root), test_pki.credential(fnr))
    value = _container(root)[1].find(f"{DS}SignatureValue")
    raw = bytearray(base64.b64decode(value.text))
    raw[-1] ^= 1
    value.text = base64.b64encode(bytes(raw)).decode()
    verified = _verify(test_pki, _bytes(sign_enveloped(root, test_pki.credential(BANK))))
    with pytest.raises(Refusal) as caught:
        _verifier(test_pki).verify_inner(verified.root, SAMPLE_PANT_ID)
    assert caught.value.error is Error.SIGNATURE_INVALID


def test_inner_signature_by_untrusted_person_is_caught(test_pki: TestPki) -> None:
    ca_key, ca_cert = create_ca(name="Rogue CA")
    key, cert = issue_certificate(ca_key, ca_cert, personal_subject(KARI, "Kari Nordmann"))
    root = _tree(sample_document())
    sign_inner_document(root, SAMPLE_PANT_ID, _container(root), SigningCredential(key, cert))
    verified = _verify(test_pki, _bytes(sign_enveloped(root, test_pki.credential(BANK))))
    with pytest.raises(Refusal) as caught:
        _verifier(test_pki).verify_inner(verified.root, SAMPLE_PANT_ID)
    assert caught.value.error is Error.CERTIFICATE_UNTRUSTED


def test_inner_signatures_missing(test_pki: TestPki) -> None:
    verified = _verify(test_pki, _signed(test_pki, signers=()))
    with pytest.raises(Refusal) as caught:
        _verifier(test_pki).verify_inner(verified.root, SAMPLE_PANT_ID)
    assert caught.value.error is Error.SIGNATURE_MISSING


def test_inner_signing_needs_a_unique_id(test_pki: TestPki) -> None:
    root = _tree(sample_document())
    with pytest.raises(SigningError):
        sign_inner_document(root, "no-such-id", _container(root), test_pki.credential(KARI))


def test_identity_repr_hides_personal_number(test_pki: TestPki) -> None:
    verified = _verify(test_pki, _signed(test_pki))
    person = _verifier(test_pki).verify_inner(verified.root, SAMPLE_PANT_ID)[0]
    assert KARI not in repr(person)
    assert KARI not in person.display and "158892*****" in person.display
    assert "organizationIdentifier=NTRNO-910000004" in verified.signer.subject


def test_verifier_is_safe_in_a_thread_pool(test_pki: TestPki) -> None:
    good = parse_xml(_signed(test_pki), LIMITS)
    bad = parse_xml(_signed(test_pki).replace(b"3650000", b"3650001"), LIMITS)
    verifier = _verifier(test_pki)

    def outcome(tree: etree._ElementTree) -> str:
        try:
            return verifier.verify_enveloped(tree).signer.orgnr or ""
        except Refusal as exc:
            return exc.error.name

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(outcome, [good, bad] * 200))
    assert results == [BANK, "SIGNATURE_INVALID"] * 200
