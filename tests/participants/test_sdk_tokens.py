"""The token grant the SDK builds, and the provider's renewal ahead of expiry."""

from __future__ import annotations

import base64
import time

import jwt
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from broker.xml.pki import TestPki
from participants.sdk.errors import BrokerError, TokenError
from participants.sdk.tokens import JWT_BEARER_GRANT, TokenProvider, build_grant_assertion

BANK = "910000004"


def _decode(assertion: str) -> tuple[dict, dict]:
    header = jwt.get_unverified_header(assertion)
    cert = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    claims = jwt.decode(assertion, cert.public_key(), algorithms=[header["alg"]], audience="dsve-broker")
    return header, claims


def test_grant_is_signed_by_the_enterprise_key_with_its_certificate(test_pki: TestPki) -> None:
    credential = test_pki.credential(BANK)
    header, claims = _decode(build_grant_assertion(BANK, credential, "dsve-broker", now=time.time()))
    assert header["alg"] == "RS256"
    assert base64.b64decode(header["x5c"][0]) == credential.certificate.public_bytes(Encoding.DER)
    assert claims["iss"] == claims["sub"] == BANK
    assert claims["exp"] - claims["iat"] <= 120


def test_ec_credentials_sign_es256_and_every_grant_has_its_own_jti(test_pki_ec: TestPki) -> None:
    credential = test_pki_ec.credential(BANK)
    first, second = (build_grant_assertion(BANK, credential, "dsve-broker") for _ in range(2))
    assert jwt.get_unverified_header(first)["alg"] == "ES256"
    assert _decode(first)[1]["jti"] != _decode(second)[1]["jti"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _token_app(grants: list[dict], expires_in: int = 300, status: int = 200) -> web.Application:
    async def token(request: web.Request) -> web.Response:
        form = await request.post()
        grants.append(dict(form))
        if status != 200:
            return web.json_response(
                {"type": "https://dsve.no/problems/invalid-grant", "title": "bad grant", "status": status},
                status=status,
                content_type="application/problem+json",
            )
        return web.json_response(
            {"access_token": f"t{len(grants)}", "token_type": "Bearer", "expires_in": expires_in, "scope": "a b"}
        )

    app = web.Application()
    app.router.add_post("/token", token)
    return app


async def test_token_is_reused_until_close_to_expiry_then_renewed(aiohttp_client, test_pki: TestPki) -> None:
    grants: list[dict] = []
    client = await aiohttp_client(_token_app(grants))
    clock = FakeClock()
    provider = TokenProvider(str(client.make_url("/token")), BANK, test_pki.credential(BANK), clock=clock)
    assert await provider.token(client.session) == "t1"
    clock.now += 200
    assert await provider.token(client.session) == "t1"
    clock.now += 80  # 20 s left: inside the renewal margin
    assert await provider.token(client.session) == "t2"
    assert [g["grant_type"] for g in grants] == [JWT_BEARER_GRANT] * 2
    assert provider.current is not None and provider.current.scope == {"a", "b"}


async def test_refused_grant_raises_a_typed_token_error(aiohttp_client, test_pki: TestPki) -> None:
    client = await aiohttp_client(_token_app([], status=400))
    provider = TokenProvider(str(client.make_url("/token")), BANK, test_pki.credential(BANK))
    try:
        await provider.token(client.session)
    except TokenError as exc:
        assert isinstance(exc, BrokerError)
        assert (exc.status, exc.slug, exc.title) == (400, "invalid-grant", "bad grant")
    else:
        raise AssertionError("a refused grant must raise")
