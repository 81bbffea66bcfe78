"""The console's cookie-signing secret: read from a file, or created there (mode 0600) on first start.

Several broker processes that share the file accept each other's session cookies. The file is created
with ``O_EXCL``, so two processes starting together cannot each write a different secret.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from broker.secret_files import load_or_create

MIN_SECRET_BYTES = 32


class ConsoleSecretError(ValueError):
    """The secret file exists but is too short to sign anything safely."""


def load_or_create_secret(path: Path) -> bytes:
    """The secret in ``path``; a new random one is written there first (0600, exactly once) when there is none."""
    secret = load_or_create(path, lambda: secrets.token_hex(MIN_SECRET_BYTES).encode("ascii")).strip()
    if len(secret) < MIN_SECRET_BYTES:
        raise ConsoleSecretError(f"{path}: the console secret must hold at least {MIN_SECRET_BYTES} bytes")
    return secret
