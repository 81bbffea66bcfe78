"""The property units (matrikkelenheter) a parsed document names, wherever in the document they stand.

Read at intake from the tree the checks already parsed (a few dozen microseconds), so the console's index
needs no second parse of the stored content; the console reads stored content only for messages that
arrived another way (before an upgrade, or through another process that stopped before indexing them).
"""

from __future__ import annotations

from lxml import etree

from broker.domain.property_units import UnitRef


def _child_text(element: etree._Element, name: str) -> str | None:
    qualified = "}" + name  # a tag is ``{namespace}name`` or, without a namespace, ``name``
    for child in element:
        tag = child.tag
        if isinstance(tag, str) and (tag == name or tag.endswith(qualified)):
            return (child.text or "").strip()
    return None


def _number(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


def units_in_tree(root: etree._Element) -> tuple[UnitRef, ...]:
    """The matrikkelenheter under ``root``, as ``kommunenummer-gnr-bnr`` with feste- and seksjonsnummer."""
    units: list[UnitRef] = []
    for element in root.iter("{*}matrikkelenhet"):
        kommune = _child_text(element, "kommunenummer")
        gnr, bnr = _child_text(element, "gaardsnummer"), _child_text(element, "bruksnummer")
        if not (kommune and gnr and bnr and kommune.isdigit() and gnr.isdigit() and bnr.isdigit()):
            continue
        units.append(
            UnitRef(
                f"{kommune}-{int(gnr)}-{int(bnr)}",
                _number(_child_text(element, "festenummer")),
                _number(_child_text(element, "seksjonsnummer")),
            )
        )
    return tuple(units)
