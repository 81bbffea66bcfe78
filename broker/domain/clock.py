"""The broker's one clock: timezone-aware UTC, so times from every module compare and sort together.

Use cases take a ``Clock`` (``Services.clock``) rather than calling this directly, so tests can fix the time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
