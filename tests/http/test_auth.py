"""The token grant and bearer authentication: each refusal with its status and problem type."""

from __future__ import annotations

import base64
import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization

from broker.app_keys import ACCESS_TOKENS, SERVICES
from broker.auth.broker_key import load_or_create_token_key
from broker.domain.errors import Error
from broker.store.unit_of_work import UnitOfWork
from tests.http.conftest import AUDIENCE, BANK, KARTVERKET, MEGLER, Broker


async def _problem(response, error: Error) -> dict:
    assert response.status == error.spec.status, await response.text()
    assert response.content_type == "application/problem+json"
    body = await response.json()
    assert body["type"] == error.spec.type_uri
    assert body["code"] == error.spec.code
    return body


async def test_grant_answers_an_oauth_token_response(sqlite_broker: Broker) -> None:
    response = await sqlite_broker.grant(BANK)
    assert response.status == 200
    body = await response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "dsve:send dsve:receive"
    assert body["expires_in"] == 300
    assert response.headers["Cache-Control"] == "no-store"


async def test_a_replayed_jti_is_refused(sqlite_broker: Broker) -> None:
    assertion = sqlite_broker.assertion(BANK)
    assert (await sqlite_broker.grant(BANK, assertion)).status == 200
    await _problem(await sqlite_broker.grant(BANK, assertion), Error.TOKEN_REPLAYED)


async def test_grant_checks_audience_lifetime_issuer_and_the_registered_certificate(sqlite_broker: Broker) -> None:
    broker = sqlite_broker
    credential = broker.credential(BANK)
    chain = [base64.b64encode(credential.certificate.public_bytes(serialization.Encoding.DER)).decode()]
    now = int(time.time())

    def assertion(**claims: object) -> str:
        values = {"iss": BANK, "sub": BANK, "aud": AUDIENCE, "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}
        values.update(claims)
        return jwt.encode(values, credential.private_key, algorithm="RS256", headers={"x5c": chain})

    for bad in (
        assertion(aud="someone-else"),
        assertion(exp=now + 3600),
        assertion(iss=MEGLER, sub=MEGLER),  # claims another orgnr with the bank's certificate
        assertion(sub=MEGLER),
        "not-a-jwt",
    ):
        body = await _problem(await broker.grant(BANK, bad), Error.INVALID_GRANT)
        assert body["error"] == "invalid_grant"
    await _problem(await broker.grant(BANK, assertion(exp=now - 120)), Error.TOKEN_INVALID)
    # Signed by the bank's key but presenting Kartverket's certificate: the signature does not verify.
    other = base64.b64encode(broker.credential(KARTVERKET).certificate.public_bytes(serialization.Encoding.DER))
    forged = jwt.encode(
        {"iss": KARTVERKET, "sub": KARTVERKET, "aud": AUDIENCE, "exp": now + 60, "jti": str(uuid.uuid4())},
        credential.private_key,
        algorithm="RS256",
        headers={"x5c": [other.decode()]},
    )
    await _problem(await broker.grant(KARTVERKET, forged), Error.INVALID_GRANT)


async def test_an_inactive_participant_gets_no_token(sqlite_broker: Broker) -> None:
    async with UnitOfWork(sqlite_broker.services.engine) as uow:
        await uow.participants.set_active(BANK, False)
        await uow.commit()
    await _problem(await sqlite_broker.grant(BANK), Error.INVALID_GRANT)


async def test_no_token_a_bad_token_and_an_expired_token_are_401(sqlite_broker: Broker) -> None:
    client = sqlite_broker.client
    body = await _problem(await client.get("/api/v1/messages"), Error.TOKEN_MISSING)
    assert body["instance"] == "/api/v1/messages"
    response = await client.get("/api/v1/messages", headers={"Authorization": "Bearer nonsense"})
    await _problem(response, Error.TOKEN_INVALID)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    key = load_or_create_token_key(client.app[SERVICES].settings.effective_token_key_file)
    expired = jwt.encode(
        {"iss": "dsve-broker", "sub": BANK, "aud": AUDIENCE, "iat": 1, "exp": 2, "scope": "dsve:send"},
        key,
        algorithm="EdDSA",
    )
    response = await client.get("/api/v1/messages", headers={"Authorization": f"Bearer {expired}"})
    body = await _problem(response, Error.TOKEN_INVALID)
    assert "expired" in body["detail"]


async def test_a_token_without_the_scope_is_403(sqlite_broker: Broker) -> None:
    receive_only = sqlite_broker.client.app[ACCESS_TOKENS].issue(BANK, ("dsve:receive",))
    response = await sqlite_broker.client.post(
        "/api/v1/messages",
        data=sqlite_broker.signed("intensjonFraBank"),
        headers={"Authorization": f"Bearer {receive_only.access_token}", "Content-Type": "application/xml"},
    )
    await _problem(response, Error.SCOPE_MISSING)


async def test_a_token_with_bytes_that_are_not_utf8_is_401_not_500(sqlite_broker: Broker) -> None:
    """aiohttp hands such header bytes over as surrogates, which the JWT library could not even encode (found
    by the fuzz target of the bearer token)."""
    import asyncio

    server = sqlite_broker.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(
        b"GET /api/v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xe5yJ0.e30.x\r\nConnection: close\r\n\r\n"
    )
    await writer.drain()
    answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
