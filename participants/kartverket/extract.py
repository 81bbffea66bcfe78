"""The land-register extract (grunnboksutskrift) as text, for the demo's timeline and for the CLI.

Personal numbers are shown masked: an extract printed to a terminal or a log must not expose them.
"""

from __future__ import annotations

from participants.kartverket.model import Grunnboksutskrift, Right, RightKind

_KIND_NAMES = {
    RightKind.PANT: "Pantedokument",
    RightKind.SERVITUTT: "Servitutt",
    RightKind.URAADIGHET: "Urådighet",
    RightKind.ANNEN_HEFTELSE: "Annen heftelse",
    RightKind.UTLEGG: "Utleggsforretning",
    RightKind.ANMERKNING: "Anmerkning",
}


def _nok(amount: int) -> str:
    return f"NOK {amount:,}".replace(",", " ")


def _right_line(position: int, right: Right) -> str:
    parts = [f"{position}. {right.ref}", _KIND_NAMES[right.kind]]
    if right.beloep is not None:
        parts.append(_nok(right.beloep))
    if right.holder is not None:
        parts.append(f"rettighetshaver {right.holder}")
    if right.text:
        parts.append(right.text)
    registered = right.registered_at.strftime("%d.%m.%Y")
    return "  " + ", ".join(parts) + f" (tinglyst {registered})"


def format_extract(extract: Grunnboksutskrift) -> list[str]:
    """The extract as lines: the unit, its owners with shares, and its active rights in priority order."""
    lines = [f"Grunnboksutskrift for {extract.unit}" + (f" ({extract.address})" if extract.address else "")]
    lines.append("Hjemmelshavere:")
    lines.extend(f"  {share.holder}, andel {share.teller}/{share.nevner}" for share in extract.owners)
    lines.append("Heftelser i prioritetsrekkefølge:")
    if extract.rights:
        lines.extend(_right_line(position, right) for position, right in enumerate(extract.rights, start=1))
    else:
        lines.append("  ingen")
    return lines
