"""The grant as Altinn's own clients build it (kid, client id as iss, aud = the token endpoint's origin, the
organisation in authorization_details, no jti, no sub), and Altinn's token exchange endpoint."""

from __future__ import annotations

import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from broker.auth.clients import RegisteredClient
from broker.store.unit_of_work import UnitOfWork
from participants.sdk.tokens import JWT_BEARER_GRANT
from tests.filetransfer.conftest import BANK, MEGLER, AltinnApi

CLIENT_ID = "0d6a3d33-2c4b-4f55-a4d1-8b1f2a9e3c10"
KID = "megler-system-2026"


async def _register(api: AltinnApi) -> rsa.RSAPrivateKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    async with UnitOfWork(api.broker.services.engine) as uow:
        await uow.clients.register(RegisteredClient(CLIENT_ID, MEGLER, KID, pem.decode("ascii")))
        await uow.commit()
    return key


def _assertion(api: AltinnApi, key: rsa.RSAPrivateKey, org: str = MEGLER, **overrides: Any) -> str:
    now = int(time.time())
    origin = str(api.client.make_url("/")).rstrip("/")
    payload: dict[str, Any] = {
        "aud": f"{origin}/",
        "scope": "altinn:broker.write",
        "iss": CLIENT_ID,
        "iat": now,
        "exp": now + 120,
        "authorization_details": [
            {
                "type": "urn:altinn:systemuser",
                "systemuser_org": {"authority": "iso6523-actorid-upis", "ID": f"0192:{org}"},
            }
        ],
    }
    payload.update(overrides)
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": KID})


async def _grant(api: AltinnApi, assertion: str) -> Any:
    return await api.client.post("/token", data={"grant_type": JWT_BEARER_GRANT, "assertion": assertion})


async def test_altinn_client_grant_exchange_and_use(sqlite_altinn: AltinnApi) -> None:
    api = sqlite_altinn
    key = await _register(api)
    assertion = _assertion(api, key)
    granted = await _grant(api, assertion)
    assert granted.status == 200, await granted.text()
    body = await granted.json()
    assert body["scope"] == "altinn:broker.write"
    replayed = await _grant(api, assertion)
    assert replayed.status == 401
    assert (await replayed.json())["code"] == "DSVE-5003"

    exchanged = await api.client.get(
        "/authentication/api/v1/exchange/maskinporten", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert exchanged.status == 200
    altinn_token = await exchanged.text()
    initialized = await api.client.post(
        "/broker/api/v1/filetransfer",
        json={
            "fileName": "a.zip",
            "resourceId": "kv_dsve",
            "sender": f"0192:{MEGLER}",
            "recipients": [f"0192:{BANK}"],
        },
        headers={"Authorization": f"Bearer {altinn_token}"},
    )
    assert initialized.status == 200, await initialized.text()


async def test_refused_client_grants(sqlite_altinn: AltinnApi) -> None:
    api = sqlite_altinn
    key = await _register(api)
    assert (await _grant(api, _assertion(api, key, org=BANK))).status == 400  # acting for another organisation
    assert (await _grant(api, _assertion(api, key, aud="https://elsewhere.example/"))).status == 400
    assert (await _grant(api, _assertion(api, key, iss="another-client"))).status == 400
    assert (await _grant(api, _assertion(api, key, exp=int(time.time()) + 3600))).status == 400
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert (await _grant(api, _assertion(api, stranger))).status == 400  # signed by a key not registered
    no_details = _assertion(api, key, authorization_details=None)
    assert (await _grant(api, no_details)).status == 200  # the organisation comes from the registration
