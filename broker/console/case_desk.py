"""The port between the console and a registry's case officers: submissions a registry (the Kartverket
simulator's e-tinglysing) holds for manual handling, and the officer's decision on one.

The registry keeps its own state (its database); the broker never imports the registry's code. Whoever
builds the app passes a desk (``create_app(case_desk=...)``), or ``dsve serve`` takes one from an installed
plug-in (entry-point group ``dsve.case_desks``: a callable answering a desk, or None when its registry is
not configured for this broker).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

PLUGIN_GROUP = "dsve.case_desks"
OUTCOMES = ("TINGLYST", "NEKTET")  # how a case officer may end a submission


@dataclass(frozen=True, slots=True)
class Finding:
    """One control result that sent the submission to manual handling."""

    kodeverdi: str
    navn: str
    utfall: str
    dokumentindeks: int | None
    rettsstiftelsesindeks: int | None
    begrunnelser: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ManualCase:
    innsending_id: int
    innsender: str
    forsendelsesreferanse: str
    registreringstidspunkt: str  # its priority: the documents are registered while the officer decides
    documents: tuple[str, ...]  # the numbers they were registered under, as year/number/office
    findings: tuple[Finding, ...]


class CaseUnknown(LookupError):
    """No submission with that id."""


class CaseClosed(ValueError):
    """The submission is not (or no longer) waiting for a case officer."""


class CaseDesk(Protocol):
    @property
    def orgnr(self) -> str:
        """The registry whose staff decide (a console user of that participant)."""

    async def pending(self) -> Sequence[ManualCase]: ...

    async def decide(self, innsending_id: int, utfall: str, officer: str) -> str:
        """End the submission as ``utfall`` (one of OUTCOMES); answers the outcome recorded. The registry
        sends its final status to the submitter itself."""


def load_case_desk() -> CaseDesk | None:
    """The first installed plug-in's desk that is configured for this broker, or None."""
    from importlib.metadata import entry_points

    for entry_point in entry_points(group=PLUGIN_GROUP):
        factory: Callable[[], CaseDesk | None] = entry_point.load()
        desk = factory()
        if desk is not None:
            log.info("case desk of %s from %s", desk.orgnr, entry_point.value)
            return desk
    return None
