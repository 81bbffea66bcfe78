"""Validation reports: every problem of a document, each with its line, column and readable path.

A document is checked in three steps: its type from the root element, its schema, then the identifier
rules. All findings are collected, so a client fixes everything in one round. Positions are those of the
submitted bytes (see :mod:`broker.xml.paths` for how columns are found).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from lxml import etree

from broker.domain.errors import Error, Issue, Refusal
from broker.domain.identifiers import mask_fodselsnummer
from broker.xml.catalogue import Catalogue, CompiledSchema
from broker.xml.parsing import parse_xml
from broker.xml.paths import Locator, local_name
from broker.xml.rules import check_identifiers
from broker.xml.settings import XmlLimits

SCHEMA_CODE = "schema"
UNKNOWN_TYPE_CODE = Error.UNKNOWN_MESSAGE_TYPE.spec.slug

# Namespace URIs in Clark notation ({urn:...}name) carry no information for the reader of a report.
# A namespace URI has a scheme (a colon); sets such as {'valider', 'tinglys'} and quantifiers such as {11}
# in quoted patterns do not match and are kept.
_CLARK_NAMESPACE = re.compile(r"\{[^}'\"\s:]+:[^}'\"\s]*\}")
# Eleven digits in a row may be a personal number quoted by libxml2 (a value that broke a facet).
_ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")
_ERRORS_BY_SLUG = {error.spec.slug: error for error in Error}


class ValidationReport(NamedTuple):
    """What validation found: the message type (None when unknown or unparsable) and every issue."""

    message_type: str | None
    issues: list[Issue]

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def error(self) -> Error | None:
        """The catalogue error for a refusal: the kind of the first issue (parse, type, schema, rule)."""
        if not self.issues:
            return None
        code = self.issues[0].code
        if code == SCHEMA_CODE or code == "routing-field":
            return Error.SCHEMA_INVALID
        if code.startswith("rule:"):
            return Error.RULE_VIOLATION
        return _ERRORS_BY_SLUG.get(code, Error.XML_NOT_WELL_FORMED)

    def as_dict(self) -> dict[str, object]:
        return {"messageType": self.message_type, "valid": self.ok, "errors": [i.as_dict() for i in self.issues]}


def _readable_message(message: str, element: etree._Element | None) -> str:
    message = _CLARK_NAMESPACE.sub("", message.strip())
    if element is not None and local_name(element) == "foedselsnummer":
        value = (element.text or "").strip()
        if value:
            message = message.replace(value, mask_fodselsnummer(value))
    return _ELEVEN_DIGITS.sub(lambda m: mask_fodselsnummer(m.group()), message)


def schema_issues(tree: etree._ElementTree, compiled: CompiledSchema, locator: Locator) -> list[Issue]:
    """Every schema error, placed at the element it concerns (line and column of its start tag)."""
    with compiled.lock:
        if compiled.schema.validate(tree):
            return []
        entries = list(compiled.schema.error_log)
    issues = []
    for entry in entries:
        element = locator.element_at(entry.path)
        message = _readable_message(entry.message, element)
        if element is None:
            issues.append(Issue(message, entry.line, max(entry.column, 0), "", SCHEMA_CODE))
        else:
            issues.append(locator.issue(element, message, SCHEMA_CODE))
    return issues


def validate_tree(
    tree: etree._ElementTree, catalogue: Catalogue, source: bytes | str | None = None
) -> ValidationReport:
    """Type from the root, schema, identifier rules. ``source`` (the parsed bytes) lets columns be found."""
    root = tree.getroot()
    spec = catalogue.spec_for_root(root)
    locator = Locator(tree, source)
    if spec is None:
        namespace = etree.QName(root).namespace
        where = f" in namespace {namespace}" if namespace else " without a namespace"
        message = f"the root element {local_name(root)}{where} is no known message type"
        return ValidationReport(None, [locator.issue(root, message, UNKNOWN_TYPE_CODE)])
    issues = schema_issues(tree, catalogue.compiled(spec), locator)
    issues.extend(check_identifiers(tree, locator))
    return ValidationReport(spec.name, issues)


def validate_with_schema(
    tree: etree._ElementTree, compiled: CompiledSchema, source: bytes | str | None = None
) -> ValidationReport:
    """Validate against one given schema (``dsve validate --schema``): schema only, no catalogue rules."""
    issues = schema_issues(tree, compiled, Locator(tree, source))
    return ValidationReport(None, issues)


def validate_bytes(data: bytes, catalogue: Catalogue, limits: XmlLimits) -> ValidationReport:
    """Hardened parse, then :func:`validate_tree`; a parse refusal becomes the report's issues."""
    try:
        tree = parse_xml(data, limits)
    except Refusal as refusal:
        return ValidationReport(None, list(refusal.issues) or [Issue(refusal.detail, code=refusal.error.spec.slug)])
    return validate_tree(tree, catalogue, data)
