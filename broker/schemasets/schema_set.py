"""One schema set: a mapping file and the directory that holds its schemas, compiled once and shared.

Checking one XML part of a package happens here: hardened parse, the root element against the expected type
(namespace-less schemas included), the schema, the identifier fields, and the routing values the mapping
names (attributes included). An enveloped XML signature at the end of the root is set aside before schema
validation: the official schemas are closed and do not allow one, while a sender may sign its message.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from lxml import etree

from broker.config import XmlLimits
from broker.domain.errors import Refusal
from broker.schemasets.field_paths import FieldPath, compile_field_path
from broker.schemasets.findings import Finding, PartReport
from broker.schemasets.identifier_checks import IdentifierField, check_identifier_fields
from broker.schemasets.mapping import IDENTIFIER_KINDS, SetMapping, TypeMapping
from broker.xml.catalogue import CatalogueError, CompiledSchema, compile_schema
from broker.xml.parsing import parse_xml
from broker.xml.paths import Locator, local_name
from broker.xml.validation import schema_issues

_DSIG_SIGNATURE = "{http://www.w3.org/2000/09/xmldsig#}Signature"


class SchemaSetError(ValueError):
    """A schema set that cannot be used as configured (missing or broken schema): a deployment fault."""


class SchemaSet:
    """A mapping and its schemas; :meth:`check_xml` checks one XML document of a package."""

    def __init__(self, mapping: SetMapping, directory: Path) -> None:
        self.mapping = mapping
        self.directory = Path(directory).resolve()
        self._compiled: dict[str, CompiledSchema] = {}
        self._lock = threading.Lock()
        namespace = mapping.namespace
        self._routing: Mapping[str, Mapping[str, FieldPath]] = MappingProxyType(
            {
                name: MappingProxyType({key: compile_field_path(path, namespace) for key, path in t.routing.items()})
                for name, t in mapping.types.items()
            }
        )
        self.identifier_fields = tuple(
            IdentifierField(compile_field_path(path, namespace), kind, party)
            for path, kind, party in mapping.identifiers
        )

    @property
    def name(self) -> str:
        return self.mapping.name

    def schema_names(self) -> list[str]:
        """Every schema file the mapping refers to."""
        names = {t.schema for t in self.mapping.types.values() if t.schema}
        names.update(rule.schema for t in self.mapping.types.values() for rule in t.files if rule.schema)
        return sorted(names)

    def missing_schemas(self) -> list[str]:
        return [name for name in self.schema_names() if not (self.directory / name).is_file()]

    def compiled(self, schema_name: str) -> CompiledSchema:
        compiled = self._compiled.get(schema_name)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(schema_name)
                if compiled is None:
                    path = (self.directory / schema_name).resolve()
                    if not path.is_relative_to(self.directory) or not path.is_file():
                        raise SchemaSetError(f"schema set {self.name}: {schema_name} is not a file in {self.directory}")
                    try:
                        compiled = CompiledSchema(compile_schema(path, self.directory))
                    except CatalogueError as exc:
                        raise SchemaSetError(f"schema set {self.name}: {exc}") from exc
                    self._compiled[schema_name] = compiled
        return compiled

    def compile_all(self) -> None:
        """Compile every schema now, so a missing or broken one fails at start rather than on a request."""
        for name in self.schema_names():
            self.compiled(name)

    def type_for_root(self, root: etree._Element) -> TypeMapping | None:
        """The type whose root element ``root`` is, in the set's namespace (or none)."""
        if not isinstance(root.tag, str):
            return None
        if (etree.QName(root).namespace or "") != self.mapping.namespace:
            return None
        return self.mapping.type_for_root(local_name(root))

    def routing_values(self, type_name: str, root: etree._Element) -> dict[str, str]:
        values = {key: path.first(root) for key, path in self._routing.get(type_name, {}).items()}
        return {key: value for key, value in values.items() if value}

    def check_xml(
        self,
        file: str,
        data: bytes,
        limits: XmlLimits,
        identifier_policy: Mapping[str, str],
        expected: TypeMapping | None = None,
        schema_name: str | None = None,
        test_identifiers: bool = False,
    ) -> PartReport:
        """Check one XML part: as the type ``expected`` (its root, schema, routing) or against ``schema_name``.

        With neither, the type comes from the root element. ``test_identifiers``: see ``check_identifier_fields``.
        """
        try:
            tree = parse_xml(data, limits)
        except Refusal as refusal:
            issues = refusal.issues or []
            findings = [Finding.from_issue(file, issue) for issue in issues] or [
                Finding(file, refusal.detail, code=refusal.error.spec.slug)
            ]
            return PartReport(file, expected.name if expected else None, errors=findings)
        root = tree.getroot()
        locator = Locator(tree, data)
        report = PartReport(file, None)
        if schema_name is None:
            found = self.type_for_root(root)
            namespace = etree.QName(root).namespace
            where = f"in namespace {namespace}" if namespace else "without a namespace"
            if expected is not None and found is not expected:
                report.message_type = expected.name
                report.errors.append(
                    _at(
                        locator,
                        file,
                        root,
                        f"the root element {local_name(root)} ({where}) is not a "
                        f"{expected.name} message (expected {' or '.join(expected.roots)})",
                        "message-type",
                    )
                )
                return report
            if found is None:
                report.errors.append(
                    _at(
                        locator,
                        file,
                        root,
                        f"the root element {local_name(root)} ({where}) is no message type "
                        f"of the schema set {self.name}",
                        "unknown-message-type",
                    )
                )
                return report
            report.message_type = found.name
            schema_name = found.schema
            report.routing = self.routing_values(found.name, root)
        if schema_name is None:
            return report
        signature = root[-1] if len(root) and root[-1].tag == _DSIG_SIGNATURE else None
        if signature is not None:
            root.remove(signature)
        try:
            compiled = self.compiled(schema_name)
        except SchemaSetError as exc:
            report.errors.append(Finding(file, str(exc), code="schema-unavailable"))
            return report
        report.errors.extend(Finding.from_issue(file, issue) for issue in schema_issues(tree, compiled, locator))
        policy = {kind: identifier_policy.get(kind, self.mapping.identifier_default) for kind in IDENTIFIER_KINDS}
        errors, warnings = check_identifier_fields(
            file, root, locator, self.identifier_fields, policy, test_identifiers
        )
        report.errors.extend(errors)
        report.warnings.extend(warnings)
        return report


def _at(locator: Locator, file: str, element: etree._Element, message: str, code: str) -> Finding:
    return Finding.from_issue(file, locator.issue(element, message, code))
