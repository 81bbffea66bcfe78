"""The schema catalogue: which message types exist, their schemas, roles and routing-field paths.

Loaded from ``xsd/catalogue.toml`` (format in ``xsd/README.md``). Schemas are compiled once per schema file
and shared: compiling is milliseconds, validating is microseconds, so the broker must never compile per
request. Schema documents are parsed with includes and imports resolved from local files under the schema's
own directory only; a schema that reaches for the network or elsewhere on disk fails to compile.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, NoReturn
from urllib.parse import unquote, urlsplit

from lxml import etree

from broker.domain.errors import Error, Issue, Refusal
from broker.domain.roles import Role
from broker.xml.toml_cache import TomlError, load_toml

if TYPE_CHECKING:
    from lxml.etree._docloader import _InputDocument
    from lxml.objectify import ObjectPath

    from broker.domain.routing_fields import RoutingFields

CATALOGUE_FILE = "catalogue.toml"
REQUIRED_PATHS = ("message_id", "sender", "recipient", "sender_reference")
OPTIONAL_PATHS = ("recipient_reference", "created")
_PREFIX = "m"


class CatalogueError(ValueError):
    """The catalogue or one of its schemas is broken: a deployment fault, not a client's."""


def _path_steps(path: str) -> list[str]:
    """The element names of ``hode/avsender/orgnr``; a malformed path is a catalogue error."""
    steps = [step for step in path.strip().split("/") if step]
    if not steps or any(not step.isidentifier() for step in steps):
        raise CatalogueError(f"routing path {path!r} must be element names separated by '/'")
    return steps


def _compile_path(path: str, namespace: str) -> etree.XPath:
    """``hode/avsender/orgnr`` becomes an XPath with every step in the family namespace."""
    steps = _path_steps(path)
    return etree.XPath("/".join(f"{_PREFIX}:{step}" for step in steps), namespaces={_PREFIX: namespace})


def _first_child_path(root_name: str, path: str, namespace: str) -> ObjectPath:
    """``hode/avsender/orgnr`` under the root ``root_name``, as a walk through the first child of each name.

    lxml's ``ObjectPath`` walks in C (the six routing fields in 4 against 14 µs by XPath). It follows the
    first child of each name only, so what it finds is the first element in document order that the XPath
    finds (the first child of a name that holds the rest of the path is that first child); when it finds
    nothing, the XPath answers (a missing field, or a first child without the rest of the path).
    """
    from lxml.objectify import ObjectPath

    prefix = f"{{{namespace}}}" if namespace else ""
    return ObjectPath([prefix + step for step in (root_name, *_path_steps(path))])


class MessageTypeSpec:
    """One message type of the catalogue; the root element's local name is the type's name.

    A plain class with read-only (``Final``) attributes rather than a frozen dataclass, as the other records
    ``dsve validate`` loads (see ``broker.domain.errors``). Two specs are equal when every field is.
    """

    __slots__ = (
        "_first_children",
        "_xpaths",
        "description",
        "family",
        "name",
        "namespace",
        "paths",
        "recipient_roles",
        "schema_file",
        "sender_roles",
    )

    def __init__(
        self,
        name: str,
        family: str,
        namespace: str,
        schema_file: Path,
        sender_roles: frozenset[Role],
        recipient_roles: frozenset[Role],
        paths: Mapping[str, str],
        description: str = "",
    ) -> None:
        missing = [key for key in REQUIRED_PATHS if key not in paths]
        if missing:
            raise CatalogueError(f"{name}: routing paths missing: {', '.join(missing)}")
        for path in paths.values():
            _path_steps(path)
        self.name: Final = name
        self.family: Final = family
        self.namespace: Final = namespace
        self.schema_file: Final = schema_file
        self.sender_roles: Final = sender_roles
        self.recipient_roles: Final = recipient_roles
        self.paths: Final[Mapping[str, str]] = MappingProxyType(dict(paths))
        self.description: Final = description
        # Compiled on first use: loading the catalogue checks every path, but a run that reads the routing
        # fields of one type (``dsve validate`` on one file) compiles that type's paths only.
        self._xpaths: Final[dict[str, etree.XPath]] = {}
        self._first_children: Final[dict[str, ObjectPath]] = {}

    def _key(self) -> tuple[object, ...]:
        return (
            self.name,
            self.family,
            self.namespace,
            self.schema_file,
            self.sender_roles,
            self.recipient_roles,
            tuple(self.paths.items()),
            self.description,
        )

    def __eq__(self, other: object) -> bool:
        return self._key() == other._key() if isinstance(other, MessageTypeSpec) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"MessageTypeSpec(name={self.name!r}, family={self.family!r}, namespace={self.namespace!r})"

    @property
    def root_qname(self) -> str:
        """The root element's name in Clark notation, ``{namespace}name``, as lxml spells ``tag``."""
        return f"{{{self.namespace}}}{self.name}"

    def _text(self, root: etree._Element, key: str) -> str | None:
        found = self._first(root, key)
        if found is None:
            return None
        text = (found.text or "").strip()
        return text or None

    def _first(self, root: etree._Element, key: str) -> etree._Element | None:
        """The first element, in document order, at the routing path ``key`` under ``root``."""
        walk = self._first_children.get(key)
        if walk is None:
            path = self.paths.get(key)
            if path is None:
                return None
            walk = self._first_children.setdefault(key, _first_child_path(self.name, path, self.namespace))
        element: etree._Element | None = walk(root, None)
        if element is not None:
            return element
        xpath = self._xpaths.get(key)
        if xpath is None:
            xpath = self._xpaths.setdefault(key, _compile_path(self.paths[key], self.namespace))
        found = xpath(root)
        return found[0] if found else None

    def routing_fields(self, root: etree._Element) -> RoutingFields:
        """The routing fields read from ``root``; a missing required field is a schema refusal."""
        from datetime import datetime  # here, not at the top: ``dsve validate`` reads no routing fields

        from broker.domain.routing_fields import RoutingFields

        values = {key: self._text(root, key) for key in (*REQUIRED_PATHS, *OPTIONAL_PATHS)}
        issues = [
            Issue(
                f"the routing field {key} ({self.paths[key]}) is missing",
                path=f"/{self.name}/{self.paths[key]}",
                code="routing-field",
            )
            for key in REQUIRED_PATHS
            if values[key] is None
        ]
        created: datetime | None = None
        if values["created"] is not None:
            try:
                created = datetime.fromisoformat(values["created"])
            except ValueError:
                issues.append(
                    Issue(
                        f"the creation time {values['created']!r} is not an ISO 8601 date and time",
                        path=f"/{self.name}/{self.paths['created']}",
                        code="routing-field",
                    )
                )
        if issues:
            raise Refusal(Error.SCHEMA_INVALID, issues[0].message, issues)
        return RoutingFields(
            message_type=self.name,
            message_id=values["message_id"] or "",
            sender=values["sender"] or "",
            recipient=values["recipient"] or "",
            sender_reference=values["sender_reference"] or "",
            recipient_reference=values["recipient_reference"],
            created=created,
        )


class _LocalOnly(etree.Resolver):
    """Resolves schema includes and imports to files under one directory; everything else fails."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root.resolve()
        self.refused: list[str] = []

    def _refuse(self, reason: str) -> NoReturn:
        """Record why, then fail the load: libxml2 turns the failure into a schema parse error."""
        self.refused.append(reason)
        raise CatalogueError(reason)

    def resolve(self, system_url: str | None, public_id: str | None, context: object) -> _InputDocument | None:
        if not system_url:
            return None
        parts = urlsplit(system_url)
        if parts.scheme not in ("", "file") or parts.netloc not in ("", "localhost"):
            self._refuse(f"schema resource {system_url!r} is not a local file")
        path = Path(unquote(parts.path) if parts.scheme else system_url).resolve()
        if not path.is_relative_to(self.root):
            self._refuse(f"schema resource {system_url!r} is outside {self.root}")
        return self.resolve_filename(str(path), context)


def compile_schema(schema_file: Path, root: Path | None = None) -> etree.XMLSchema:
    """Compile one XSD, resolving includes and imports from files under ``root`` (its directory by default)."""
    schema_file = Path(schema_file).resolve()
    resolver = _LocalOnly(root or schema_file.parent)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    parser.resolvers.add(resolver)
    try:
        document = etree.parse(str(schema_file), parser)
        return etree.XMLSchema(document)
    except (OSError, etree.XMLSyntaxError, etree.XMLSchemaParseError) as exc:
        if resolver.refused:
            raise CatalogueError(f"cannot compile {schema_file.name}: {'; '.join(resolver.refused)}") from exc
        raise CatalogueError(f"cannot compile {schema_file.name}: {exc}") from exc


class CompiledSchema:
    """A compiled schema and the lock that guards its error log.

    lxml validates each call in its own libxml2 context, but the validator's error log is one object per
    schema: two threads validating at once would read each other's errors. The lock is held only around
    one validation.
    """

    __slots__ = ("lock", "schema")

    def __init__(self, schema: etree.XMLSchema) -> None:
        self.schema: Final = schema
        self.lock: Final = threading.Lock()


def _roles(values: Iterable[str], where: str) -> frozenset[Role]:
    try:
        return frozenset(Role(value) for value in values)
    except ValueError as exc:
        raise CatalogueError(f"{where}: {exc}") from exc


class Catalogue:
    """The message types by name and by root element, with their compiled schemas."""

    def __init__(self, specs: Iterable[MessageTypeSpec], xsd_dir: Path) -> None:
        self.xsd_dir = Path(xsd_dir).resolve()
        self._by_name: dict[str, MessageTypeSpec] = {}
        for spec in specs:
            if spec.name in self._by_name:
                raise CatalogueError(f"message type {spec.name!r} is listed twice")
            self._by_name[spec.name] = spec
        self._by_root = {spec.root_qname: spec for spec in self._by_name.values()}
        self._compiled: dict[Path, CompiledSchema] = {}
        self._compile_lock = threading.Lock()

    @classmethod
    def load(cls, xsd_dir: Path) -> Catalogue:
        """Read ``catalogue.toml`` in ``xsd_dir``; schemas compile on first use (or :meth:`compile_all`)."""
        xsd_dir = Path(xsd_dir).resolve()
        try:
            raw = load_toml(xsd_dir / CATALOGUE_FILE)
        except TomlError as exc:
            raise CatalogueError(f"cannot read {xsd_dir / CATALOGUE_FILE}: {exc}") from exc
        specs = []
        for name, table in raw.items():
            try:
                schema_file = (xsd_dir / table["schema"]).resolve()
                spec = MessageTypeSpec(
                    name=name,
                    family=table["family"],
                    namespace=table["namespace"],
                    schema_file=schema_file,
                    sender_roles=_roles(table["sender_roles"], name),
                    recipient_roles=_roles(table["recipient_roles"], name),
                    paths=dict(table["paths"]),
                    description=table.get("description", ""),
                )
            except (KeyError, TypeError) as exc:
                raise CatalogueError(f"{name}: missing or malformed entry {exc}") from exc
            if not schema_file.is_relative_to(xsd_dir) or not schema_file.is_file():
                raise CatalogueError(f"{name}: schema {table['schema']!r} is not a file in {xsd_dir}")
            specs.append(spec)
        return cls(specs, xsd_dir)

    def __getitem__(self, name: str) -> MessageTypeSpec:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[MessageTypeSpec]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def spec_for_root(self, root: etree._Element) -> MessageTypeSpec | None:
        """The type whose root element ``root`` is (namespace and local name), or None."""
        return self._by_root.get(root.tag) if isinstance(root.tag, str) else None

    def compiled(self, spec: MessageTypeSpec) -> CompiledSchema:
        """The compiled schema of ``spec``, compiled on first use and shared by every type of the file."""
        compiled = self._compiled.get(spec.schema_file)
        if compiled is None:
            with self._compile_lock:
                compiled = self._compiled.get(spec.schema_file)
                if compiled is None:
                    compiled = CompiledSchema(compile_schema(spec.schema_file, self.xsd_dir))
                    self._compiled[spec.schema_file] = compiled
        return compiled

    def schema_for(self, spec: MessageTypeSpec) -> etree.XMLSchema:
        return self.compiled(spec).schema

    def compile_all(self) -> None:
        """Compile every schema now, so a broken schema fails at startup rather than on a request."""
        for spec in self:
            self.compiled(spec)

    def schema_bytes(self, name: str) -> bytes:
        """The XSD of one message type as stored (the family schema; KeyError for an unknown type)."""
        return self._by_name[name].schema_file.read_bytes()
