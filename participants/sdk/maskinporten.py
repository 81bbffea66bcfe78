"""Tokens the way Altinn's own clients get them: a Maskinporten JWT grant, then Altinn's token exchange.

The grant is signed with the client's registered key and names it in the ``kid`` header (no certificate in
it); ``iss`` is the Maskinporten client id, ``aud`` the token endpoint's origin, ``scope`` the scopes asked
for (``altinn:broker.write altinn:broker.read``), and the organisation acted for may be named in
``authorization_details``. The token from ``/token`` is exchanged at
``/authentication/api/v1/exchange/maskinporten`` for the token the file-transfer API takes.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import aiohttp
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from participants.sdk.responses import json_or_text, raise_for_problem
from participants.sdk.tokens import JWT_BEARER_GRANT

SCOPE_WRITE = "altinn:broker.write"
SCOPE_READ = "altinn:broker.read"
EXCHANGE_PATH = "/authentication/api/v1/exchange/maskinporten"
GRANT_LIFETIME_S = 60
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def build_maskinporten_grant(
    client_id: str,
    key: PrivateKey,
    kid: str,
    audience: str,
    scopes: Sequence[str] = (SCOPE_WRITE, SCOPE_READ),
    *,
    orgnr: str | None = None,
    now: float | None = None,
    lifetime_s: int = GRANT_LIFETIME_S,
    jti: bool = True,
) -> str:
    """The signed grant; ``orgnr`` names the organisation in ``authorization_details``, ``jti`` may be left out
    as some of Altinn's clients do."""
    issued = int(time.time() if now is None else now)
    claims: dict[str, object] = {
        "iss": client_id,
        "aud": audience,
        "scope": " ".join(scopes),
        "iat": issued,
        "exp": issued + lifetime_s,
    }
    if jti:
        claims["jti"] = str(uuid.uuid4())
    if orgnr is not None:
        claims["authorization_details"] = [
            {
                "type": "urn:altinn:systemuser",
                "systemuser_org": {"authority": "iso6523-actorid-upis", "ID": f"0192:{orgnr}"},
            }
        ]
    algorithm = "ES256" if isinstance(key, ec.EllipticCurvePrivateKey) else "RS256"
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    expires_at: float


class AltinnTokenSource:
    """An Altinn token for the file-transfer API: grant → ``/token`` → exchange, renewed ahead of expiry."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        key: PrivateKey,
        kid: str,
        scopes: Sequence[str] = (SCOPE_WRITE, SCOPE_READ),
        *,
        orgnr: str | None = None,
        audience: str | None = None,
        exchange: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client_id, self._key, self._kid, self._scopes = client_id, key, kid, tuple(scopes)
        self._orgnr = orgnr
        self._audience = audience or self.base_url
        self._exchange = exchange
        self._clock = clock
        self._token: _Token | None = None
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._token = None

    async def token(self, session: aiohttp.ClientSession) -> str:
        async with self._lock:
            token = self._token
            if token is None or self._clock() >= token.expires_at - 30:
                token = self._token = await self._fetch(session)
            return token.value

    async def _fetch(self, session: aiohttp.ClientSession) -> _Token:
        requested = self._clock()
        grant = build_maskinporten_grant(
            self._client_id, self._key, self._kid, self._audience, self._scopes, orgnr=self._orgnr, now=requested
        )
        form = {"grant_type": JWT_BEARER_GRANT, "assertion": grant}
        async with session.post(f"{self.base_url}/token", data=form, headers={"Accept": "application/json"}) as got:
            await raise_for_problem(got)
            body = await json_or_text(got)
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise ValueError("the token endpoint answered no access token")
        value, expires_at = str(body["access_token"]), requested + float(body.get("expires_in") or 60)
        if not self._exchange:
            return _Token(value, expires_at)
        headers = {"Authorization": f"Bearer {value}"}
        async with session.get(f"{self.base_url}{EXCHANGE_PATH}", headers=headers) as exchanged:
            await raise_for_problem(exchanged)
            altinn = (await exchanged.text()).strip().strip('"')
        return _Token(altinn, expires_at)
