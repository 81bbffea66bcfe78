"""Access tokens for the broker: an RFC 7523 JWT bearer grant signed with the enterprise key.

The grant proves possession of the enterprise certificate's key without a shared secret: the JWT carries
the certificate in ``x5c`` and is signed by its key. Tokens are short-lived, so the provider renews one
ahead of its expiry and shares one renewal among concurrent callers.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
import jwt
from cryptography.hazmat.primitives import serialization

from broker.xml.keys import SigningCredential
from participants.sdk.errors import BrokerError, TokenError
from participants.sdk.responses import json_or_text

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GRANT_LIFETIME_S = 60
RENEW_MARGIN_S = 30.0


def build_grant_assertion(
    orgnr: str,
    credential: SigningCredential,
    audience: str,
    now: float | None = None,
    lifetime_s: int = GRANT_LIFETIME_S,
    scope: str | None = None,
) -> str:
    """The signed JWT a participant posts to ``/token``; every call gets a fresh ``jti``, used once."""
    issued = int(time.time() if now is None else now)
    der = credential.certificate.public_bytes(serialization.Encoding.DER)
    chain = [base64.b64encode(der).decode("ascii")]
    chain += [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode("ascii") for c in credential.chain]
    claims = {
        "iss": orgnr,
        "sub": orgnr,
        "aud": audience,
        "iat": issued,
        "exp": issued + lifetime_s,
        "jti": str(uuid.uuid4()),
    }
    if scope is not None:
        claims["scope"] = scope
    algorithm = "ES256" if credential.is_ec else "RS256"
    return jwt.encode(claims, credential.private_key, algorithm=algorithm, headers={"x5c": chain})


@dataclass(frozen=True, slots=True)
class AccessToken:
    value: str
    issued_at: float
    expires_at: float
    scope: frozenset[str]

    def fresh(self, now: float, margin_s: float) -> bool:
        """Usable for a while yet; renewing ahead keeps a call in flight from carrying an expired token."""
        return now < self.expires_at - margin_s


class TokenProvider:
    """Hands out a valid bearer token, fetching a new one when the current one is close to expiry."""

    def __init__(
        self,
        token_url: str,
        orgnr: str,
        credential: SigningCredential,
        audience: str = "dsve-broker",
        renew_margin_s: float = RENEW_MARGIN_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._token_url = token_url
        self._orgnr = orgnr
        self._credential = credential
        self._audience = audience
        self._renew_margin_s = renew_margin_s
        self._clock = clock
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()

    @property
    def current(self) -> AccessToken | None:
        return self._token

    def invalidate(self) -> None:
        """Forget the token, e.g. after the broker answered 401 (restarted with a new signing key)."""
        self._token = None

    async def token(self, session: aiohttp.ClientSession) -> str:
        token = self._token
        if token is not None and token.fresh(self._clock(), self._margin(token)):
            return token.value
        async with self._lock:
            token = self._token
            if token is None or not token.fresh(self._clock(), self._margin(token)):
                token = await self._fetch(session)
                self._token = token
            return token.value

    def _margin(self, token: AccessToken) -> float:
        """Renew ahead of expiry, but never so early that a short-lived token is renewed on every call."""
        return min(self._renew_margin_s, (token.expires_at - token.issued_at) / 4)

    async def _fetch(self, session: aiohttp.ClientSession) -> AccessToken:
        requested = self._clock()
        form = {
            "grant_type": JWT_BEARER_GRANT,
            "assertion": build_grant_assertion(self._orgnr, self._credential, self._audience, now=requested),
        }
        async with session.post(self._token_url, data=form, headers={"Accept": "application/json"}) as response:
            body = await json_or_text(response)
            if response.status != 200:
                error = BrokerError.from_problem(response.status, body)
                raise TokenError(
                    status=error.status,
                    type=error.type,
                    title=error.title,
                    detail=error.detail,
                    errors=error.errors,
                    code=error.code,
                )
        if not isinstance(body, dict) or "access_token" not in body:
            raise TokenError(status=502, title="The token endpoint gave no access token")
        expires_in = float(body.get("expires_in") or 60)
        scope = frozenset(str(body.get("scope") or "").split())
        # Measured from the request, not the answer: a slow answer must not stretch the token's life.
        return AccessToken(
            value=str(body["access_token"]), issued_at=requested, expires_at=requested + expires_in, scope=scope
        )
