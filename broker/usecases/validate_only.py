"""Validate-only: the whole submit pipeline (parse, schema and rules, signature, routing) without storing.

The answer is a report, not a refusal, so a participant can test a document against the live broker and
its registry and see every problem at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from broker.domain.errors import Error, Issue, Refusal
from broker.usecases.intake import CheckTrace, check_message
from broker.usecases.services import Services


@dataclass(frozen=True, slots=True)
class ValidationOutcome:
    valid: bool
    message_type: str | None
    error: Error | None = None
    detail: str = ""
    issues: tuple[Issue, ...] = field(default_factory=tuple)


async def validate_message(services: Services, caller: str, data: bytes) -> ValidationOutcome:
    """The pipeline's verdict. A body too large to read at all is still refused by the HTTP layer."""
    trace = CheckTrace()
    try:
        checked = await check_message(services, caller, data, trace)
    except Refusal as refusal:
        if refusal.error is Error.TOO_LARGE:
            raise
        issues = tuple(refusal.issues) or (Issue(message=refusal.detail or refusal.error.spec.title),)
        return ValidationOutcome(False, trace.message_type, refusal.error, refusal.detail, issues)
    return ValidationOutcome(True, checked.spec.name)
