"""A grant whose algorithm does not fit its certificate's key: 400 invalid-grant, never a 500.

PyJWT raises TypeError (not one of its own errors) when it is given a key of another kind than the
algorithm's. Found by the fuzz harness.
"""

from __future__ import annotations

import base64
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from broker.xml.pki import TestPki
from tests.http.conftest import AUDIENCE, BANK, Broker


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
async def test_a_grant_signed_for_another_key_type_is_refused(
    sqlite_broker: Broker, test_pki_ec: TestPki, algorithm: str
) -> None:
    rsa_cert = sqlite_broker.credential(BANK).certificate  # the broker's registered certificate: RSA
    ec_key = test_pki_ec.credential(BANK).private_key
    now = int(time.time())
    claims = {"iss": BANK, "sub": BANK, "aud": AUDIENCE, "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}
    x5c = [base64.b64encode(rsa_cert.public_bytes(Encoding.DER)).decode("ascii")]
    if algorithm == "ES256":
        assertion = jwt.encode(claims, ec_key, algorithm="ES256", headers={"x5c": x5c})
    else:  # an RS256 header over an EC certificate
        ec_cert = test_pki_ec.credential(BANK).certificate
        x5c = [base64.b64encode(ec_cert.public_bytes(Encoding.DER)).decode("ascii")]
        signed = jwt.encode(claims, sqlite_broker.credential(BANK).private_key, algorithm="RS256", headers={"x5c": x5c})
        assertion = signed
    response = await sqlite_broker.grant(BANK, assertion)
    assert response.status == 400, await response.text()
    assert (await response.json())["type"].endswith("/invalid-grant")


async def test_a_grant_with_an_unreadable_certificate_version_is_refused(sqlite_broker: Broker) -> None:
    """``x509.InvalidVersion`` is no ValueError: it went past the x5c reader as a 500."""
    credential = sqlite_broker.credential(BANK)
    der = credential.certificate.public_bytes(Encoding.DER)
    at = der.index(b"\xa0\x03\x02\x01\x02") + 4
    damaged = der[:at] + b"\x22" + der[at + 1 :]
    now = int(time.time())
    claims = {"iss": BANK, "sub": BANK, "aud": AUDIENCE, "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}
    x5c = [base64.b64encode(damaged).decode("ascii")]
    assertion = jwt.encode(claims, credential.private_key, algorithm="RS256", headers={"x5c": x5c})
    response = await sqlite_broker.grant(BANK, assertion)
    assert response.status == 400, await response.text()
