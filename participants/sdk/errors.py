"""What the broker's refusals look like to a participant system.

The broker answers every refusal as RFC 9457 problem+json with a stable ``type``; callers branch on that
type (or the status), never on the wording, so the error keeps both and the validation ``errors`` list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

GENERIC_PROBLEM_TYPE = "about:blank"


@dataclass(frozen=True, slots=True)
class ProblemDetail:
    """One finding of a validation report: where in the document and what is wrong."""

    message: str
    line: int | None = None
    column: int | None = None
    path: str | None = None
    code: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> ProblemDetail:
        if not isinstance(data, dict):
            return cls(message=str(data))
        return cls(
            message=str(data.get("message") or data.get("detail") or ""),
            line=_int_or_none(data.get("line")),
            column=_int_or_none(data.get("column")),
            path=data.get("path"),
            code=data.get("code"),
        )


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


@dataclass(slots=True)
class BrokerError(Exception):
    """A refusal from the broker, typed from its problem document."""

    status: int
    type: str = GENERIC_PROBLEM_TYPE
    title: str = ""
    detail: str | None = None
    errors: list[ProblemDetail] = field(default_factory=list)
    code: str | None = None

    def __post_init__(self) -> None:
        Exception.__init__(self, str(self))

    def __str__(self) -> str:
        text = f"{self.status} {self.title or self.type}"
        if self.detail:
            text += f": {self.detail}"
        if self.errors:
            text += f" ({len(self.errors)} finding{'s' if len(self.errors) != 1 else ''})"
        return text

    @property
    def slug(self) -> str:
        """The last segment of the problem type, e.g. ``schema-invalid``."""
        return self.type.rstrip("/").rsplit("/", 1)[-1]

    @classmethod
    def from_problem(cls, status: int, body: Any) -> BrokerError:
        """Build from a decoded problem document; a body that is not one still yields a usable error."""
        if not isinstance(body, dict):
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
            return cls(status=status, title=text[:200] or f"HTTP {status}")
        raw_errors = body.get("errors") or []
        return cls(
            status=int(body.get("status") or status),
            type=str(body.get("type") or GENERIC_PROBLEM_TYPE),
            title=str(body.get("title") or ""),
            detail=body.get("detail"),
            errors=[ProblemDetail.from_json(e) for e in raw_errors] if isinstance(raw_errors, list) else [],
            code=body.get("code"),
        )


class TokenError(BrokerError):
    """The token endpoint refused the grant: the credential or the clock is wrong, retrying will not help."""
