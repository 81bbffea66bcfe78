"""Maskinporten-style grants, as Altinn's own clients build them.

Such a client signs its grant with a key registered for it (JWT header ``kid``, no certificate), names its
client id as ``iss`` (not an organisation number), the token endpoint's origin as ``aud``, the scopes in
``scope`` and the organisation in ``authorization_details`` (a system user's ``systemuser_org``), and may send
neither ``jti`` nor ``sub``. The broker accepts that form for a registered client and key: the organisation is
the client's registered one (``authorization_details`` may only name that same one: acting for another
organisation is not modelled), and without a ``jti`` the assertion's own SHA-256 is remembered until it
expires, so a replayed assertion is still refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from broker.domain.errors import Error, Refusal
from broker.domain.file_transfers import parse_party

SYSTEM_USER_TYPE = "urn:altinn:systemuser"


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    client_id: str
    orgnr: str
    kid: str
    public_key_pem: str


ClientLookup = Callable[[str], Awaitable[RegisteredClient | None]]


def _invalid(detail: str) -> Refusal:
    return Refusal(Error.INVALID_GRANT, detail)


def check_public_key(pem: str) -> None:
    """Raise ValueError unless ``pem`` is an RSA or EC public key (what RS256/ES256 grants verify with)."""
    key = load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise ValueError("the key must be an RSA or EC public key")


def _organisation(claims: dict[str, Any]) -> str | None:
    details = claims.get("authorization_details")
    if details is None:
        return None
    if isinstance(details, dict):
        details = [details]
    if not isinstance(details, list):
        raise _invalid("authorization_details must be a list")
    for detail in details:
        if isinstance(detail, dict) and detail.get("type") == SYSTEM_USER_TYPE:
            org = detail.get("systemuser_org")
            if isinstance(org, dict) and isinstance(org.get("ID"), str):
                orgnr = parse_party(org["ID"])
                if orgnr is None:
                    raise _invalid("systemuser_org.ID is not an organisation number")
                return orgnr
    return None


@dataclass(frozen=True, slots=True)
class ClientGrant:
    orgnr: str
    claims: dict[str, Any]
    replay_key: str  # the jti, or the assertion's SHA-256 when it has none
    expires: float


def verify_client_assertion(
    assertion: str, algorithm: str, client: RegisteredClient, audiences: Collection[str], leeway: int
) -> ClientGrant:
    try:
        key = load_pem_public_key(client.public_key_pem.encode("ascii"))
        if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            raise ValueError("the registered key is neither RSA nor EC")
        claims = jwt.decode(
            assertion,
            key,
            algorithms=[algorithm],
            audience=list(audiences),
            issuer=client.client_id,
            options={"require": ["iss", "aud", "exp", "scope"], "verify_iat": False},
            leeway=leeway,
        )
    except jwt.ExpiredSignatureError as exc:
        raise Refusal(Error.TOKEN_INVALID, "the assertion has expired") from exc
    except (jwt.PyJWTError, ValueError) as exc:
        raise _invalid(f"the assertion does not verify for client {client.client_id}: {exc}") from exc
    named = _organisation(claims)
    if named is not None and named != client.orgnr:
        raise _invalid("authorization_details names another organisation than the client's")
    jti = claims.get("jti")
    if jti is not None and (not isinstance(jti, str) or not 8 <= len(jti) <= 200):
        raise _invalid("jti must be a unique string of 8 to 200 characters")
    replay_key = jti or "sha256:" + hashlib.sha256(assertion.encode("ascii")).hexdigest()
    return ClientGrant(client.orgnr, claims, replay_key, float(claims["exp"]))
