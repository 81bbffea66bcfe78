"""Certificates whose fields are malformed past the outer DER: refused as untrusted, never a crash.

The library parses a certificate's name, extensions and key lazily, so a damaged field raises (ValueError,
KeyError for an unknown string type, UnsupportedAlgorithm for an unknown key type) only when the chain walk
reaches it. Found by the fuzz harness with an X509Certificate changed inside a signed message.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from broker.domain.errors import Error, Refusal
from broker.xml.pki import TestPki
from broker.xml.trust import TrustStore

EC_PUBLIC_KEY_OID = bytes.fromhex("2a8648ce3d0201")  # 1.2.840.10045.2.1
UNCOMPRESSED_P256_POINT = b"\x03\x42\x00\x04"


def _damaged(der: bytes, kind: str) -> bytes:
    if kind == "key-type":
        at = der.index(EC_PUBLIC_KEY_OID) + len(EC_PUBLIC_KEY_OID) - 1
        return der[:at] + b"\x09" + der[at + 1 :]
    if kind == "duplicate-extension":  # the AuthorityKeyIdentifier's OID turned into SubjectKeyIdentifier's
        return der.replace(b"\x06\x03\x55\x1d\x23", b"\x06\x03\x55\x1d\x0e", 1)
    if kind == "version":
        at = der.index(b"\xa0\x03\x02\x01\x02") + 4  # [0] EXPLICIT INTEGER 2 (v3)
        return der[:at] + b"\x22" + der[at + 1 :]
    if kind == "string-type":
        at = der.index(b"NTRNO-") - 2  # the UTF8String tag of the organizationIdentifier
        return der[:at] + b"\x0f" + der[at + 1 :]
    at = der.index(UNCOMPRESSED_P256_POINT) + len(UNCOMPRESSED_P256_POINT)
    return der[:at] + b"\x00" * 4 + der[at + 4 :]


@pytest.mark.parametrize("kind", ["key-type", "string-type", "key-point", "version", "duplicate-extension"])
def test_a_damaged_certificate_is_untrusted(test_pki_ec: TestPki, kind: str) -> None:
    leaf = x509.load_pem_x509_certificate(test_pki_ec.enterprise["910000004"].cert_path.read_bytes())
    store = TrustStore([test_pki_ec.ca_certificate()])
    with pytest.raises(Refusal) as caught:
        store.trusted_chain([_damaged(leaf.public_bytes(Encoding.DER), kind)], dt.datetime.now(dt.UTC))
    assert caught.value.error is Error.CERTIFICATE_UNTRUSTED
