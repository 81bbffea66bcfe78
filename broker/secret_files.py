"""Secret files (keys, cookie secrets) made on first start: owner-only from the first byte, made once.

A file is created with ``O_EXCL`` and mode 0600, so it is never readable by others even for an instant, and
of several processes starting together exactly one writes it; the others read what it wrote (waiting a
moment for a file that exists but is not written yet).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

_WAIT_FOR_WRITER_S = 0.5


def write_private_file(path: Path, content: bytes) -> None:
    """Create ``path`` readable by its owner only; raises FileExistsError when it is already there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)


def load_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """The file's content; when there is no file, ``make()``'s content written there first."""
    if not path.exists():
        content = make()
        try:
            write_private_file(path, content)
        except FileExistsError:
            pass
        else:
            return content
    deadline = time.monotonic() + _WAIT_FOR_WRITER_S
    content = path.read_bytes()
    while not content.strip() and time.monotonic() < deadline:
        time.sleep(0.01)
        content = path.read_bytes()
    return content
