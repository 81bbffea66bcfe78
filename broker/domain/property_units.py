"""A property unit (matrikkelenhet) as messages name it: the key of the console's case search by unit."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UnitRef:
    """A matrikkelenhet: ``unit`` is ``kommunenummer-gårdsnummer-bruksnummer``."""

    unit: str
    festenummer: int = 0
    seksjonsnummer: int = 0


@dataclass(frozen=True, slots=True)
class StoredUnits:
    """A message just stored and the units it names: handed to the console's index after the commit."""

    message_id: str
    seq: int
    units: tuple[UnitRef, ...]
