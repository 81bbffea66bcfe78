"""The XML of a message made readable: parsed with the broker's hardened parser, indented, and personal
numbers masked.

The stored bytes are never changed: the view is built from a fresh parse of a copy. Every element named
``foedselsnummer`` shows only its first six digits (the birth date) unless the caller asks for the full
numbers, which the console allows an operator only, and logs.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from broker.config import XmlLimits
from broker.domain.errors import Refusal
from broker.domain.identifiers import mask_fodselsnummer
from broker.xml.parsing import parse_xml

PERSONAL_NUMBER_ELEMENT = "foedselsnummer"


@dataclass(frozen=True, slots=True)
class XmlView:
    text: str
    personal_numbers: int  # how many elements hold one: the page offers to show them only when > 0
    masked: bool


def readable_xml(content: bytes, limits: XmlLimits, *, reveal: bool = False) -> XmlView:
    try:
        tree = parse_xml(content, limits)
    except Refusal as refusal:
        return XmlView(f"(the stored document cannot be shown: {refusal.detail})", 0, True)
    count = 0
    for element in tree.iter(f"{{*}}{PERSONAL_NUMBER_ELEMENT}"):
        count += 1
        if not reveal and element.text:
            element.text = mask_fodselsnummer(element.text.strip())
    etree.indent(tree, space="  ")
    return XmlView(etree.tostring(tree, encoding="unicode"), count, not reveal)
