"""The broker's own token-signing key: read from a file, or created there (mode 0600) on first start.

Access tokens are signed with Ed25519 (JWS ``EdDSA``): small keys, fast signatures, no parameter
choices to get wrong. Several broker processes that share one key file accept each other's tokens.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

TOKEN_ALGORITHM = "EdDSA"


class BrokerKeyError(ValueError):
    """The key file exists but holds no usable Ed25519 private key."""


def load_or_create_token_key(path: Path) -> ed25519.Ed25519PrivateKey:
    """The key in ``path``; a new one is written there first when the file does not exist.

    The file is created with ``O_EXCL`` and mode 0600, so a key is never readable by others even for an
    instant, and two processes starting together cannot overwrite each other's key.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = ed25519.Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return _read_key(path)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        return key
    return _read_key(path)


def _read_key(path: Path) -> ed25519.Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError as exc:
        raise BrokerKeyError(f"{path}: unreadable token key: {exc}") from exc
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise BrokerKeyError(f"{path}: the token key must be an Ed25519 private key")
    return key
