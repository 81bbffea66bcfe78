"""The shape of seeded register content: a unit with its owners, the deed that made them owners, and the
rights registered on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from participants.kartverket.model import DocumentNumber, Party, Registerenhet, RightKind, Share
from participants.kartverket.register import DEFAULT_EMBETE


@dataclass(frozen=True, slots=True)
class SeedRight:
    kind: RightKind
    holder: Party | None
    number: DocumentNumber
    registered_at: datetime
    beloep: int | None = None
    text: str = ""


@dataclass(frozen=True, slots=True)
class SeedUnit:
    """``expired_at`` marks a unit the cadastre has closed (utgått): it stays on record, nothing new is entered."""

    unit: Registerenhet
    address: str
    owners: tuple[Share, ...]
    deed: DocumentNumber
    deed_registered_at: datetime
    rights: tuple[SeedRight, ...] = ()
    expired_at: datetime | None = None


def doc(year: int, number: int) -> DocumentNumber:
    return DocumentNumber(year, number, DEFAULT_EMBETE)


def at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)
