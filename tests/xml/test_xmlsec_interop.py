"""Interoperability with xmlsec1 (libxmlsec1 on OpenSSL), an independent XML-DSig implementation.

Documents signed here must verify there against the same pinned CA, and documents xmlsec1 signs from a
template in our profile must verify here: the profile is standard XML-DSig, not a private dialect.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from broker.xml.pki import TestPki
from broker.xml.signing import sign_enveloped, sign_inner_document
from tests.fixtures.pki import SAMPLE_PANT_ID, sample_document
from tests.xml.test_signatures import BANK, KARI, OLA, _bytes, _container, _tree, _verify

pytestmark = pytest.mark.skipif(shutil.which("xmlsec1") is None, reason="xmlsec1 is not installed")

TEMPLATE = """<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
  <ds:SignedInfo>
    <ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
    <ds:SignatureMethod Algorithm="{method}"/>
    <ds:Reference URI="">
      <ds:Transforms>
        <ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
        <ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
      </ds:Transforms>
      <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
      <ds:DigestValue/>
    </ds:Reference>
  </ds:SignedInfo>
  <ds:SignatureValue/>
  <ds:KeyInfo><ds:X509Data/></ds:KeyInfo>
</ds:Signature>"""


def _xmlsec(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["xmlsec1", *args], capture_output=True, text=True, timeout=30, check=False)


def test_our_signature_verifies_with_xmlsec1(test_pki: TestPki, tmp_path: Path) -> None:
    root = _tree(sample_document())
    for fnr in (KARI, OLA):
        sign_inner_document(root, SAMPLE_PANT_ID, _container(root), test_pki.credential(fnr))
    path = tmp_path / "signed.xml"
    path.write_bytes(_bytes(sign_enveloped(root, test_pki.credential(BANK))))
    ca = str(test_pki.ca_cert_path)
    enveloped = _xmlsec("--verify", "--trusted-pem", ca, "--node-xpath", "/*/*[last()]", str(path))
    assert enveloped.returncode == 0, enveloped.stderr
    for position in (1, 2):
        inner = _xmlsec(
            "--verify",
            "--trusted-pem",
            ca,
            "--id-attr:Id",
            "pant",
            "--node-xpath",
            f"//*[local-name()='signaturer']/*[{position}]",
            str(path),
        )
        assert inner.returncode == 0, inner.stderr


def test_xmlsec1_refuses_what_we_tampered(test_pki: TestPki, tmp_path: Path) -> None:
    path = tmp_path / "tampered.xml"
    signed = _bytes(sign_enveloped(_tree(sample_document()), test_pki.credential(BANK)))
    path.write_bytes(signed.replace(b"3650000", b"3650001"))
    result = _xmlsec("--verify", "--trusted-pem", str(test_pki.ca_cert_path), str(path))
    assert result.returncode != 0


@pytest.mark.parametrize(
    ("pki_name", "method"),
    [
        ("test_pki", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"),
        ("test_pki_ec", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"),
    ],
)
def test_xmlsec1_signature_verifies_here(
    pki_name: str, method: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    pki: TestPki = request.getfixturevalue(pki_name)
    root = _tree(sample_document())
    root.append(etree.fromstring(TEMPLATE.format(method=method)))
    template = tmp_path / "template.xml"
    template.write_bytes(_bytes(root))
    signed = tmp_path / "signed.xml"
    files = pki.enterprise["930000000"]
    result = _xmlsec(
        "--sign", "--privkey-pem", f"{files.key_path},{files.cert_path}", "--output", str(signed), str(template)
    )
    assert result.returncode == 0, result.stderr
    verified = _verify(pki, signed.read_bytes())
    assert verified.signer.orgnr == "930000000"
