"""The rules' working copy of the register: the units, owners and rights a submission touches.

Rettsstiftelser are judged in følgebrev order and each one changes the copy as it intends to, so a pant
signed by the buyers is judged against the owners the same submission's eierskifte has just made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from participants.kartverket.model import Party, Right, RightKind, RightRef, Share

MAX_BELOEP = 280_000_000_000

KINDS_BY_PREFIX: dict[str, frozenset[RightKind]] = {
    "OB_": frozenset({RightKind.PANT}),
    "AH_URK": frozenset({RightKind.URAADIGHET}),
    "AH_": frozenset({RightKind.ANNEN_HEFTELSE, RightKind.SERVITUTT}),
    "TV_": frozenset({RightKind.UTLEGG}),
    "ET_": frozenset({RightKind.ANMERKNING}),
}


def kind_for_code(kode: str) -> RightKind:
    """The register's kind of right for a rettsstiftelse type code."""
    for prefix, kinds in KINDS_BY_PREFIX.items():
        if kode.startswith(prefix):
            return RightKind.ANNEN_HEFTELSE if prefix == "AH_" else next(iter(kinds))
    return RightKind.ANNEN_HEFTELSE


def code_matches(kode: str, kind: RightKind) -> bool:
    return any(kode.startswith(prefix) and kind in kinds for prefix, kinds in KINDS_BY_PREFIX.items())


@dataclass(slots=True)
class Grunnbok:
    units: set[str] = field(default_factory=set)
    expired: set[str] = field(default_factory=set)
    owners: dict[str, dict[Party, Fraction]] = field(default_factory=dict)
    rights: dict[RightRef, list[Right]] = field(default_factory=dict)
    reference_used: bool = False
    # (right, unit key) -> the holders whose shares a burden is limited to (absent: the whole unit)
    limited_to: dict[tuple[RightRef, str], set[str]] = field(default_factory=dict)

    def owned(self, unit_key: str) -> dict[Party, Fraction]:
        return self.owners.setdefault(unit_key, {})

    def add_owners(self, unit_key: str, shares: list[Share]) -> None:
        owned = self.owned(unit_key)
        for share in shares:
            owned[share.holder] = owned.get(share.holder, Fraction(0)) + share.fraction

    def active(self, ref: RightRef) -> list[Right]:
        return [r for r in self.rights.get(ref, []) if r.active]

    def on_unit(self, unit_key: str, kind: RightKind) -> list[Right]:
        return [
            r for rows in self.rights.values() for r in rows if r.active and r.kind is kind and r.unit.key == unit_key
        ]

    def remove(self, ref: RightRef) -> None:
        self.rights.pop(ref, None)
