"""The message schemas as xmlschema objects: encoding outgoing data and decoding incoming documents.

xmlschema is 40–70x slower than lxml at validation but turns data into XML and back without hand-written
markup; participants send and receive a few messages a second, so that trade is right here (the broker
validates with lxml). Each schema file is compiled once per process and shared by every message type of
its family.
"""

from __future__ import annotations

import threading
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import xmlschema
from lxml import etree
from xmlschema.aliases import XMLSourceType

from broker.config import REPO_XSD_DIR
from broker.xml.paths import tag_name

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
TINGLYSING_NS = "urn:no:dsve:tinglysing:v1"
DOKUMENT_NS = "urn:no:dsve:dokument:v1"
"""The namespace of the signed inner documents (xsd/dokument.xsd), whichever message carries them."""


def as_source(element: etree._Element) -> XMLSourceType:
    """An lxml element as xmlschema's source type, which it is at run time.

    The lxml stubs type an element's tag as any value a program may store in it (str, bytes, QName);
    xmlschema's element protocol wants the str that every parsed element holds, so the two types do not meet.
    """
    return element  # type: ignore[return-value]  # the lxml stubs' tag is wider than xmlschema's protocol


def encoded_element(encoded: object) -> etree._Element:
    """xmlschema's result of encoding to an lxml element class; its types allow data and error tuples too."""
    if not isinstance(encoded, etree._Element):
        raise TypeError(f"xmlschema encoded a {type(encoded).__name__}, not an lxml element")
    return encoded


class UnknownMessageType(KeyError):
    """A root element or type name the catalogue does not hold."""


@dataclass(frozen=True, slots=True)
class MessageType:
    name: str
    namespace: str
    schema_file: Path

    @property
    def root_tag(self) -> str:
        return f"{{{self.namespace}}}{self.name}"


class MessageSchemas:
    """The catalogue's message types with their compiled xmlschema schemas."""

    def __init__(self, xsd_dir: Path = REPO_XSD_DIR) -> None:
        self.xsd_dir = xsd_dir
        with (xsd_dir / "catalogue.toml").open("rb") as handle:
            catalogue = tomllib.load(handle)
        self.types = {
            name: MessageType(name=name, namespace=entry["namespace"], schema_file=xsd_dir / entry["schema"])
            for name, entry in catalogue.items()
        }
        self._by_tag = {t.root_tag: t for t in self.types.values()}
        self._compiled: dict[Path, xmlschema.XMLSchema] = {}
        self._lock = threading.Lock()

    def message_type(self, name: str) -> MessageType:
        try:
            return self.types[name]
        except KeyError:
            raise UnknownMessageType(name) from None

    def type_of(self, root: etree._Element) -> MessageType:
        """The message type a root element stands for, by its namespace and local name."""
        try:
            return self._by_tag[tag_name(root)]
        except KeyError:
            raise UnknownMessageType(str(root.tag)) from None

    def schema(self, message_type: MessageType) -> xmlschema.XMLSchema:
        with self._lock:
            schema = self._compiled.get(message_type.schema_file)
            if schema is None:
                schema = xmlschema.XMLSchema(str(message_type.schema_file))
                self._compiled[message_type.schema_file] = schema
            return schema

    def encode(self, name: str, data: dict[str, Any]) -> etree._Element:
        """Encode (and so validate) the data of one message as an lxml element in its family namespace."""
        message_type = self.message_type(name)
        return encoded_element(
            self.schema(message_type).encode(
                data,
                path=message_type.root_tag,
                namespaces={"": message_type.namespace},
                etree_element_class=etree.Element,
            )
        )

    def decode(self, root: etree._Element) -> tuple[MessageType, dict[str, Any]]:
        """Validate and decode a received document; names come back without prefixes, signatures left out.

        Validation checks every name with its namespace; the decoded data then drops the namespaces, so a
        reader finds ``pant`` under that key however the sender chose to declare the document namespace.
        """
        message_type = self.type_of(root)
        data = self.schema(message_type).decode(as_source(root), strip_namespaces=True)
        return message_type, _without_markup(data)

    def validate(self, root: etree._Element) -> None:
        """Raise xmlschema's validation error when ``root`` breaks its message's schema."""
        self.schema(self.type_of(root)).validate(as_source(root))


def in_document_namespace(data: dict[str, Any]) -> dict[str, Any]:
    """The data of a signed inner document, declaring its namespace as the default for its subtree.

    xmlschema resolves unprefixed names against the default namespace in force, so the declaration makes the
    encoder put the document and everything in it in the document namespace, whichever message holds it.
    """
    return {"@xmlns": DOKUMENT_NS, **{key: value for key, value in data.items() if key != "@xmlns"}}


def _without_markup(value: Any) -> Any:
    """Drop namespace declarations and XML-DSig signatures: readers want the content, the signatures are
    checked elsewhere."""
    if isinstance(value, dict):
        return {
            key: _without_markup(item)
            for key, item in value.items()
            if not key.startswith("@xmlns") and key != "Signature"
        }
    if isinstance(value, list):
        return [_without_markup(item) for item in value]
    return value


@lru_cache(maxsize=4)
def default_schemas(xsd_dir: Path = REPO_XSD_DIR) -> MessageSchemas:
    """One shared instance per schema directory for the whole process."""
    return MessageSchemas(xsd_dir)
