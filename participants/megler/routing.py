"""DSVE's rules for matching a bank's intention and mortgage deed to a megler's case.

Pure functions over the megler's cases: they decide the receipt status and its Norwegian description,
and the simulator sends it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from participants.megler.case import MeglerCase
from participants.messages.model import Pant, Party, Person, Registerenhet

ROUTED = "RutetSuksessfullt"
UNKNOWN_UNIT = "UkjentRegisterenhet"
DEBTOR_MISMATCH = "DebitorMismatch"
REFUSED = "Avvist"
INVALID_BUYER = "UgyldigKjoeper"
UNCLEAR_METHOD = "UavklartTinglysingsmetode"


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    status: str
    description: str
    case: MeglerCase | None = None

    @property
    def routed(self) -> bool:
        return self.status == ROUTED


def cases_for_units(cases: Iterable[MeglerCase], units: Iterable[Registerenhet]) -> list[MeglerCase]:
    keys = {u.key for u in units}
    return [c for c in cases if c.sale.unit.key in keys]


def _names(units: Iterable[Registerenhet]) -> str:
    return ", ".join(str(u) for u in units)


def route_mortgage(cases: Iterable[MeglerCase], pant: Pant) -> RoutingDecision:
    """Unknown unit → ``UkjentRegisterenhet``; no mortgagor among the case's buyers → ``DebitorMismatch``."""
    matches = cases_for_units(cases, pant.units)
    if not matches:
        return RoutingDecision(UNKNOWN_UNIT, f"Ingen oppgjørssak hos megler gjelder {_names(pant.units)}.")
    mortgagors = {p.fodselsnummer for p in pant.mortgagors}
    for case in matches:
        buyers = {p.fodselsnummer for p in case.sale.buyer_persons}
        if mortgagors & buyers:
            description = (
                f"Pantedokumentet er mottatt og knyttet til oppgjøret for {case.sale.unit} ({case.sale.address})."
            )
            return RoutingDecision(ROUTED, description, case)
    return RoutingDecision(
        DEBTOR_MISMATCH,
        f"Ingen av pantsetterne er kjøper i oppgjøret for {_names(pant.units)}.",
        matches[0],
    )


def route_intention(
    cases: Iterable[MeglerCase], buyers: Iterable[Party], units: Iterable[Registerenhet], method: str
) -> RoutingDecision:
    """The bank asks whether the case can be handled digitally for these buyers and units."""
    units = list(units)
    matches = cases_for_units(cases, units)
    if not matches:
        return RoutingDecision(UNKNOWN_UNIT, f"Ingen oppgjørssak hos megler gjelder {_names(units)}.")
    wanted = {p.fodselsnummer for p in buyers if isinstance(p, Person)}
    for case in matches:
        case_buyers = {p.fodselsnummer for p in case.sale.buyer_persons}
        if wanted and wanted <= case_buyers:
            if method != "elektronisk":
                return RoutingDecision(
                    UNCLEAR_METHOD, "Megler tinglyser elektronisk; papirtinglysing må avklares.", case
                )
            return RoutingDecision(ROUTED, f"Oppgjøret for {case.sale.unit} håndteres elektronisk.", case)
    return RoutingDecision(INVALID_BUYER, f"Kjøperne er ikke kjøpere i oppgjøret for {_names(units)}.", matches[0])
