"""The console's cookie-signing secret: read from a file, or created there (mode 0600) on first start.

Several broker processes that share the file accept each other's session cookies. The file is created
with ``O_EXCL``, so two processes starting together cannot each write a different secret.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

MIN_SECRET_BYTES = 32


class ConsoleSecretError(ValueError):
    """The secret file exists but is too short to sign anything safely."""


def load_or_create_secret(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_hex(MIN_SECRET_BYTES).encode("ascii")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return _read(path)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secret)
        return secret
    return _read(path)


def _read(path: Path) -> bytes:
    # Another process may have created the file a moment ago and not written it yet.
    for _ in range(50):
        secret = path.read_bytes().strip()
        if secret:
            break
        time.sleep(0.01)
    if len(secret) < MIN_SECRET_BYTES:
        raise ConsoleSecretError(f"{path}: the console secret must hold at least {MIN_SECRET_BYTES} bytes")
    return secret
