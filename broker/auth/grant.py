"""The token grant (RFC 7523 JWT bearer): a participant proves it holds its enterprise key.

The assertion is a JWT signed with the enterprise key, carrying its certificate in ``x5c``. The broker
trusts that certificate only when it chains to the pinned trust store AND is the very certificate
registered for the orgnr the JWT claims, and the participant is active. ``jti`` is accepted once across
every broker process (the store remembers it until the assertion expires), so a captured assertion
cannot be replayed.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from broker.auth.access_tokens import (
    ALL_SCOPES,
    SCOPE_BROKER_READ,
    SCOPE_BROKER_WRITE,
    SCOPE_SERVICE_OWNER,
    AccessTokens,
    IssuedToken,
)
from broker.auth.clients import ClientLookup, verify_client_assertion
from broker.domain.errors import Error, Refusal
from broker.domain.identifiers import is_valid_orgnr
from broker.domain.participants import Participant

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GRANT_ALGORITHMS = ("RS256", "ES256")
# Clocks of participant systems drift; a few seconds either way is tolerated, no more.
CLOCK_SKEW_S = 30

# Raises a Refusal unless the leaf chains to a trusted root through the given intermediates.
ChainCheck = Callable[[x509.Certificate, list[x509.Certificate]], None]
ParticipantLookup = Callable[[str], Awaitable[Participant | None]]
JtiOnce = Callable[[str, str, datetime], Awaitable[bool]]


# What a grant's ``scope`` claim may ask for; without the claim a token carries the native API's scopes.
GRANTABLE_SCOPES = frozenset({*ALL_SCOPES, SCOPE_BROKER_WRITE, SCOPE_BROKER_READ, SCOPE_SERVICE_OWNER})


@dataclass(frozen=True, slots=True)
class GrantPolicy:
    audience: str
    max_lifetime_s: int
    # The organisations that may configure resources (the ``altinn:serviceowner`` scope).
    service_owners: frozenset[str] = frozenset()


def granted_scopes(claims: dict[str, Any], orgnr: str, policy: GrantPolicy) -> tuple[str, ...]:
    """The scopes the assertion asks for (``scope``, space-separated), each one the caller may have."""
    requested = claims.get("scope")
    if requested is None:
        return ALL_SCOPES
    if not isinstance(requested, str) or not requested.split():
        raise _invalid("scope must be a space-separated list of scopes")
    scopes = tuple(dict.fromkeys(requested.split()))
    unknown = [s for s in scopes if s not in GRANTABLE_SCOPES]
    if unknown:
        raise Refusal(Error.INVALID_GRANT, f"unknown scope {unknown[0]!r}")
    if SCOPE_SERVICE_OWNER in scopes and orgnr not in policy.service_owners:
        raise Refusal(Error.INVALID_GRANT, f"the scope {SCOPE_SERVICE_OWNER} is not granted to this organisation")
    return scopes


def _invalid(detail: str) -> Refusal:
    return Refusal(Error.INVALID_GRANT, detail)


def _certificates_from_x5c(header: dict[str, Any]) -> list[x509.Certificate]:
    chain = header.get("x5c")
    if not isinstance(chain, list) or not chain or len(chain) > 5:
        raise _invalid("the assertion header must carry the enterprise certificate in x5c")
    certificates = []
    for entry in chain:
        if not isinstance(entry, str):
            raise _invalid("x5c entries must be base64 DER certificates")
        try:
            certificates.append(x509.load_der_x509_certificate(base64.b64decode(entry, validate=True)))
        except (binascii.Error, ValueError, x509.InvalidVersion) as exc:
            raise _invalid("an x5c entry is not a base64 DER certificate") from exc
    return certificates


def _same_certificate(registered_pem: str, presented: x509.Certificate) -> bool:
    try:
        registered = x509.load_pem_x509_certificate(registered_pem.encode("ascii"))
    except ValueError:
        return False
    return registered.fingerprint(hashes.SHA256()) == presented.fingerprint(hashes.SHA256())


def _unverified_header(assertion: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError as exc:
        raise _invalid(f"the assertion is not a JWT: {exc}") from exc
    if header.get("alg") not in GRANT_ALGORITHMS:
        raise _invalid(f"the assertion must be signed with one of {', '.join(GRANT_ALGORITHMS)}")
    return header


def _x5c_certificates(header: dict[str, Any]) -> list[x509.Certificate]:
    certificates = _certificates_from_x5c(header)
    _require_key_for(header["alg"], certificates[0])
    return certificates


def _require_key_for(algorithm: str, leaf: x509.Certificate) -> None:
    """The leaf's key must be of the algorithm's kind: PyJWT raises TypeError, not a JWT error, otherwise."""
    try:
        key = leaf.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:  # a key type or curve the library cannot load
        raise _invalid("the certificate's public key cannot be read") from exc
    if algorithm == "RS256" and not isinstance(key, rsa.RSAPublicKey):
        raise _invalid("an RS256 assertion needs a certificate with an RSA key")
    if algorithm == "ES256" and not (isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"):
        raise _invalid("an ES256 assertion needs a certificate with a P-256 key")


def read_unverified_claims(assertion: str) -> tuple[dict[str, Any], list[x509.Certificate]]:
    """The JOSE header's certificates and the algorithm check, before anything is trusted."""
    header = _unverified_header(assertion)
    return header, _x5c_certificates(header)


async def _client_grant(
    assertion: str,
    header: dict[str, Any],
    policy: GrantPolicy,
    find_client: ClientLookup,
    find_participant: ParticipantLookup,
    use_jti_once: JtiOnce,
    tokens: AccessTokens,
    current: float,
    origins: Collection[str],
) -> IssuedToken:
    """The Maskinporten form: a registered client's key id instead of a certificate (``broker.auth.clients``)."""
    kid = header.get("kid")
    client = await find_client(kid) if isinstance(kid, str) and 0 < len(kid) <= 200 else None
    if client is None:
        raise _invalid("the assertion's kid is no registered client key")
    grant = verify_client_assertion(assertion, header["alg"], client, {policy.audience, *origins}, CLOCK_SKEW_S)
    if grant.expires > current + policy.max_lifetime_s + CLOCK_SKEW_S:
        raise _invalid(f"the assertion may live at most {policy.max_lifetime_s} seconds")
    participant = await find_participant(grant.orgnr)
    if participant is None or not participant.active:
        raise _invalid("the client's organisation is not an active participant")
    remembered_until = datetime.fromtimestamp(grant.expires + CLOCK_SKEW_S, UTC)
    if not await use_jti_once(grant.replay_key, grant.orgnr, remembered_until):
        raise Refusal(Error.TOKEN_REPLAYED, "this assertion was used before")
    return tokens.issue(grant.orgnr, granted_scopes(grant.claims, grant.orgnr, policy))


async def grant_access_token(
    assertion: str,
    policy: GrantPolicy,
    check_chain: ChainCheck,
    find_participant: ParticipantLookup,
    use_jti_once: JtiOnce,
    tokens: AccessTokens,
    now: float | None = None,
    *,
    find_client: ClientLookup | None = None,
    origins: Collection[str] = (),
) -> IssuedToken:
    """Check a bearer-grant assertion and answer an access token for the participant it proves.

    An assertion with a ``kid`` and no ``x5c`` is a registered client's (Maskinporten form); its ``aud`` may also
    be one of ``origins`` (the token endpoint's origin, as Altinn's clients write it)."""
    current = time.time() if now is None else now
    header = _unverified_header(assertion)
    if "x5c" not in header and "kid" in header and find_client is not None:
        return await _client_grant(
            assertion, header, policy, find_client, find_participant, use_jti_once, tokens, current, origins
        )
    certificates = _x5c_certificates(header)
    leaf, intermediates = certificates[0], certificates[1:]
    leaf_key = leaf.public_key()
    if not isinstance(leaf_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise _invalid("the assertion's certificate must hold an RSA or EC key")
    try:
        claims = jwt.decode(
            assertion,
            leaf_key,
            algorithms=[header["alg"]],
            audience=policy.audience,
            options={"require": ["iss", "sub", "aud", "exp", "jti"], "verify_iat": False},
            leeway=CLOCK_SKEW_S,
        )
    except jwt.ExpiredSignatureError as exc:
        raise Refusal(Error.TOKEN_INVALID, "the assertion has expired") from exc
    except (jwt.PyJWTError, TypeError, ValueError, OverflowError) as exc:
        raise _invalid(f"the assertion does not verify: {exc}") from exc
    issuer, subject, jti, expires = claims["iss"], claims["sub"], claims["jti"], claims["exp"]
    if not isinstance(issuer, str) or issuer != subject or not is_valid_orgnr(issuer):
        raise _invalid("iss and sub must both be the caller's organisation number")
    if not isinstance(jti, str) or not 8 <= len(jti) <= 200:
        raise _invalid("jti must be a unique string of 8 to 200 characters")
    if not isinstance(expires, int | float) or expires > current + policy.max_lifetime_s + CLOCK_SKEW_S:
        raise _invalid(f"the assertion may live at most {policy.max_lifetime_s} seconds")
    check_chain(leaf, intermediates)
    participant = await find_participant(issuer)
    if participant is None or not _same_certificate(participant.certificate_pem, leaf):
        raise _invalid("the certificate is not the one registered for this organisation")
    if not participant.active:
        raise _invalid("the participant is not active")
    # Remembered until the assertion itself expires, after which it is refused on its expiry anyway.
    remembered_until = datetime.fromtimestamp(float(expires) + CLOCK_SKEW_S, UTC)
    if not await use_jti_once(jti, issuer, remembered_until):
        raise Refusal(Error.TOKEN_REPLAYED, "this assertion's jti was used before")
    return tokens.issue(issuer, granted_scopes(claims, issuer, policy))
