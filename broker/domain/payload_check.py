"""The seam where a file transfer's payload is checked before it is published.

A resource may name a schema set (``dsve``, ``etinglysing``, ...). While the upload is processed the broker
hands the stored file, with the transfer's parties and property list, to the ``PayloadValidator``; a report
with errors ends the transfer ``Failed`` with every error in its status text and history, and it is never
published. A resource without a schema set publishes without payload checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class PayloadError:
    """One problem in the payload: which part of the file (a ZIP entry, or the file itself), where, and what."""

    message: str
    file: str = ""
    line: int = 0
    column: int = 0
    path: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "column": self.column, "path": self.path, "message": self.message}

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file, self.line, self.column) if p)
        at = f" at {self.path}" if self.path else ""
        return f"{where}: {self.message}{at}" if where else f"{self.message}{at}"


@dataclass(frozen=True, slots=True)
class PayloadReport:
    errors: Sequence[PayloadError] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True, slots=True)
class PayloadSubject:
    """What the check is about: the transfer's resource and schema set, its parties (orgnrs) and manifest."""

    file_transfer_id: str
    resource_id: str
    schema_set: str
    file_name: str
    sender: str
    recipients: Sequence[str]
    properties: Mapping[str, str]


class PayloadValidator(Protocol):
    async def check(self, subject: PayloadSubject, file: Path) -> PayloadReport:
        """Check the stored file (read-only, safe against hostile content) against the subject's schema set.

        Called once per upload, off no lock; it must not block the event loop (run CPU work in a thread)."""
