"""``dsve.xsd`` for the simulators: decode an incoming official message to data, encode an outgoing one.

xmlschema is the right tool here (typed data in, valid XML out); it is slow, which is fine for simulators and
keeps it out of the broker's hot path.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import xmlschema
from lxml import etree

from participants.messages.schemas import as_source, encoded_element

Data = dict[str, Any]


class OfficialSchema:
    """The official schema, loaded once from the schema set's directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)  # the set's other schemas (the conditions letter's) are beside it
        self.schema = xmlschema.XMLSchema10(str(self.directory / "dsve.xsd"))

    def decode(self, data: bytes) -> tuple[str, Data]:
        """The root element's name and the document as data (``@id`` for attributes); ValueError if invalid."""
        try:
            root = etree.fromstring(
                data, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True)
            )
            name = etree.QName(root).localname
            if name not in self.schema.elements:
                raise ValueError(f"{name} is no element of dsve.xsd")
            decoded = self.schema.decode(as_source(root), validation="strict")
        except (etree.XMLSyntaxError, xmlschema.XMLSchemaValidationError) as exc:
            raise ValueError(str(exc).splitlines()[0]) from exc
        if not isinstance(decoded, dict):
            raise ValueError(f"{name} did not decode to a mapping")
        return name, dict(decoded)

    def encode(self, root: str, data: Mapping[str, Any]) -> bytes:
        """A valid document with root element ``root`` (no target namespace); invalid data raises."""
        element = encoded_element(
            self.schema.encode(dict(data), path=root, validation="strict", etree_element_class=etree.Element)
        )
        return bytes(etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True))
