"""innsending.xsd, loaded from the directory of the broker's ``etinglysing`` schema set (DSVE_SCHEMA_SETS or
``dsve schemas add``: it is Kartverket's, never part of the project), and the hardened parse of an incoming
file against it.

lxml validates (fast, with line and column); xmlschema decodes the valid tree into plain data.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import xmlschema
from lxml import etree

from broker.config import Settings, XmlLimits
from broker.domain.errors import Refusal
from broker.schemasets.configured import configured_dirs
from broker.xml.parsing import parse_xml

NAMESPACE = "http://kartverket.no/grunnbok/wsapi/v2/domain/innsending"
SCHEMA_FILE = "innsending.xsd"
SCHEMA_SET = "etinglysing"


class SchemaUnavailable(RuntimeError):
    """No innsending.xsd where the configuration points."""


def schema_path(directory: Path | None = None) -> Path:
    """innsending.xsd in ``directory`` (or its ``schema/``), by default the etinglysing schema set's."""
    if directory is None:
        settings = Settings.from_env()
        directory = configured_dirs(settings.data_dir, settings.schema_sets).get(SCHEMA_SET)
    if directory is not None:
        for candidate in (directory / SCHEMA_FILE, directory / "schema" / SCHEMA_FILE):
            if candidate.is_file():
                return candidate
    raise SchemaUnavailable(f"no {SCHEMA_FILE} in {directory or '(unset)'}: configure the schema set {SCHEMA_SET}")


@dataclass(frozen=True, slots=True)
class InnsendingSchema:
    validator: etree.XMLSchema
    decoder: xmlschema.XMLSchema10


@lru_cache(maxsize=4)
def load_schema(path: Path) -> InnsendingSchema:
    """Both compiled forms of the schema, once per process: compiling is the slow part."""
    validator = etree.XMLSchema(etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)))
    return InnsendingSchema(validator, xmlschema.XMLSchema10(str(path)))


@dataclass(frozen=True, slots=True)
class SchemaError:
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.message}"


class Unreadable(ValueError):
    """The file is no valid innsending document; ``errors`` says where and why."""

    def __init__(self, errors: list[SchemaError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


def decode_data(schema: InnsendingSchema, element: etree._Element) -> dict[str, Any]:
    """The decoded data of a valid element whose content is a complex type, without namespaces."""
    data = schema.decoder.decode(cast(Any, element), strip_namespaces=True)
    if not isinstance(data, dict):
        raise Unreadable([SchemaError(0, 0, f"{etree.QName(element).localname} has no content")])
    return data


def parse_valid(data: bytes, schema: InnsendingSchema, limits: XmlLimits | None = None) -> etree._Element:
    """The root of ``data`` when it is well-formed, within the limits and valid against innsending.xsd."""
    try:
        tree = parse_xml(data, limits or XmlLimits())
    except Refusal as refusal:
        raise Unreadable([SchemaError(i.line, i.column, i.message) for i in refusal.issues]) from None
    if not schema.validator.validate(tree):
        log = schema.validator.error_log
        raise Unreadable([SchemaError(e.line, e.column, e.message) for e in log])
    return tree.getroot()
