"""What checking a package or one of its parts found: each finding names its file and its place in it."""

from __future__ import annotations

from dataclasses import dataclass, field

from broker.domain.errors import Issue


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: the file of the package it concerns ("" for the manifest or the archive), where and what.

    ``code`` names the rule: ``schema``, ``manifest:status``, ``zip:entry-count``, ``rule:foedselsnummer``, ...
    """

    file: str
    message: str
    line: int = 0
    column: int = 0
    path: str = ""
    code: str = ""

    @classmethod
    def from_issue(cls, file: str, issue: Issue) -> Finding:
        return cls(file, issue.message, issue.line, issue.column, issue.path, issue.code)

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "code": self.code,
        }

    def __str__(self) -> str:
        where = ":".join(str(part) for part in (self.file or "(manifest)", self.line, self.column))
        path = f" [{self.path}]" if self.path else ""
        return f"{where}: {self.message}{path} ({self.code})"


@dataclass(slots=True)
class PartReport:
    """One XML part: its type, routing values, refusals (``errors``) and findings only recorded (``warnings``)."""

    file: str
    message_type: str | None
    routing: dict[str, str] = field(default_factory=dict)
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
