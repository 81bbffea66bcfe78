"""Access tokens: short-lived JWTs the broker signs for an authenticated participant.

A token names the participant (``sub`` = orgnr) and its scopes. The broker checks only its own
signature, audience, issuer and expiry; it keeps no token table, so any broker process with the same key
accepts a token another issued.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric import ed25519

from broker.auth.broker_key import TOKEN_ALGORITHM
from broker.domain.errors import Error, Refusal
from broker.domain.identifiers import is_valid_orgnr

SCOPE_SEND = "dsve:send"
SCOPE_RECEIVE = "dsve:receive"
ALL_SCOPES = (SCOPE_SEND, SCOPE_RECEIVE)
# Altinn 3 Broker's scopes, for the file-transfer API: a sender writes, a recipient reads; a service owner
# configures resources.
SCOPE_BROKER_WRITE = "altinn:broker.write"
SCOPE_BROKER_READ = "altinn:broker.read"
SCOPE_SERVICE_OWNER = "altinn:serviceowner"
ISSUER = "dsve-broker"
LEEWAY_S = 5
# Verified tokens are remembered until they expire, so a client's next request skips the signature check;
# a token is a few hundred bytes, and past this many the oldest are forgotten (and checked again if seen).
TOKEN_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling, as the access token says: every query is scoped to this orgnr."""

    orgnr: str
    scopes: frozenset[str]

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str


class AccessTokens:
    """Issues and checks the broker's access tokens."""

    def __init__(self, key: ed25519.Ed25519PrivateKey, audience: str, lifetime_s: int) -> None:
        self._key = key
        self._public_key = key.public_key()
        self._audience = audience
        self._lifetime_s = lifetime_s
        self._verified: dict[str, tuple[Caller, float]] = {}  # token → (caller, expiry incl. leeway)

    def issue(self, orgnr: str, scopes: tuple[str, ...] = ALL_SCOPES) -> IssuedToken:
        now = int(time.time())
        scope = " ".join(scopes)
        claims = {
            "iss": ISSUER,
            "sub": orgnr,
            "aud": self._audience,
            "iat": now,
            "nbf": now,
            "exp": now + self._lifetime_s,
            "jti": str(uuid.uuid4()),
            "scope": scope,
        }
        token = jwt.encode(claims, self._key, algorithm=TOKEN_ALGORITHM, headers={"typ": "at+jwt"})
        return IssuedToken(access_token=token, expires_in=self._lifetime_s, scope=scope)

    def authenticate(self, token: str) -> Caller:
        """The caller a token names, or a TOKEN_INVALID refusal (bad signature, wrong audience, expired).

        A token once verified is answered from memory until its expiry: signature, audience, issuer and
        not-before cannot change for the same string, and an expired one is checked again (and refused).
        """
        cached = self._verified.get(token)
        if cached is not None:
            caller, valid_until = cached
            if time.time() <= valid_until:
                return caller
            del self._verified[token]
        caller, expires = self._verify(token)
        if len(self._verified) >= TOKEN_CACHE_SIZE:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (caller, expires + LEEWAY_S)
        return caller

    def _verify(self, token: str) -> tuple[Caller, float]:
        # A header byte that is not UTF-8 arrives as a surrogate, which PyJWT cannot even encode (a 500 before
        # this check); a token is base64url and dots, so anything else is simply not a token.
        if not token.isascii():
            raise Refusal(Error.TOKEN_INVALID, "the access token is not valid: it is not ASCII")
        try:
            claims = jwt.decode(
                token,
                self._public_key,
                algorithms=[TOKEN_ALGORITHM],
                audience=self._audience,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
                leeway=LEEWAY_S,
            )
        except jwt.ExpiredSignatureError as exc:
            raise Refusal(Error.TOKEN_INVALID, "the access token has expired") from exc
        except jwt.PyJWTError as exc:
            raise Refusal(Error.TOKEN_INVALID, f"the access token is not valid: {exc}") from exc
        orgnr = claims.get("sub")
        scope = claims.get("scope", "")
        if not isinstance(orgnr, str) or not is_valid_orgnr(orgnr) or not isinstance(scope, str):
            raise Refusal(Error.TOKEN_INVALID, "the access token names no participant")
        return Caller(orgnr=orgnr, scopes=frozenset(scope.split())), float(claims["exp"])
