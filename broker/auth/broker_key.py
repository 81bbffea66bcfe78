"""The broker's own token-signing key: read from a file, or created there (mode 0600) on first start.

Access tokens are signed with Ed25519 (JWS ``EdDSA``): small keys, fast signatures, no parameter
choices to get wrong. Several broker processes that share one key file accept each other's tokens.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from broker.secret_files import load_or_create

TOKEN_ALGORITHM = "EdDSA"


class BrokerKeyError(ValueError):
    """The key file exists but holds no usable Ed25519 private key."""


def load_or_create_token_key(path: Path) -> ed25519.Ed25519PrivateKey:
    """The key in ``path``; a new one is written there first (0600, exactly once) when there is none."""

    def new_key() -> bytes:
        return ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    return _parse_key(path, load_or_create(path, new_key))


def _parse_key(path: Path, pem: bytes) -> ed25519.Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except ValueError as exc:
        raise BrokerKeyError(f"{path}: unreadable token key: {exc}") from exc
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise BrokerKeyError(f"{path}: the token key must be an Ed25519 private key")
    return key
