"""A schema set's mapping file (``xsd/sets/<name>.toml``): the project's own description of a third-party schema.

It says, per message type (the official ``messageType`` name): the root element(s), the schema file, the roles
that may send and receive it, where the routing fields are (XPath steps, attributes allowed), which manifest
keys it needs and which values they may take, and which files its ZIP holds. Identifier fields (XPath + kind)
and the pinned public source of the schema files are set-wide. Reading it needs no schema: the registry can
learn roles and type names from a mapping whose schemas are not installed.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from broker.domain.roles import Role

ROUTING_KEYS = ("sender", "recipient", "sender_reference", "recipient_reference", "message_id")
IDENTIFIER_KINDS = ("orgnr", "foedselsnummer", "party", "kontonummer", "kid")
FILE_KINDS = ("message", "xml", "attachment")
# Checks an attachment rule may name; the broker supplies them (``PackageValidator(file_checks=...)``).
FILE_CHECKS = ("mortgage-deed",)


class MappingError(ValueError):
    """A mapping file that cannot be used: a deployment fault, not a client's."""


@dataclass(frozen=True, slots=True)
class FileRule:
    """Which files of a ZIP match one of ``patterns`` (case-insensitive globs), how many, how each is checked.

    ``kind``: ``message`` is the type's own XML (its schema, root and routing fields); ``xml`` is another
    XML document checked against ``schema``; ``attachment`` is carried unread (a PDF, a BankID SDO).
    ``when``: manifest values under which the file is required; when they do not hold, no such file may be sent.
    ``check``: for an attachment, a check of its content where it is XML (``mortgage-deed``: its signatures).
    """

    patterns: tuple[str, ...]
    kind: str = "message"
    schema: str | None = None
    min: int = 1
    max: int = 1
    when: Mapping[str, str] = field(default_factory=dict)
    check: str | None = None


@dataclass(frozen=True, slots=True)
class TypeMapping:
    """One official message type of the set."""

    name: str
    roots: tuple[str, ...]
    schema: str | None
    sender_roles: frozenset[Role]
    recipient_roles: frozenset[Role]
    routing: Mapping[str, str]
    required_keys: tuple[str, ...]
    allowed_values: Mapping[str, tuple[str, ...]]
    ack_status: str | None
    files: tuple[FileRule, ...]
    description: str = ""


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One schema file as published: its path in the public repository and its SHA-256 at the pinned commit."""

    name: str
    path: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Source:
    """Where the set's schema files are published, pinned to one commit."""

    repository: str
    commit: str
    url: str
    files: tuple[SourceFile, ...]

    def file_url(self, source_file: SourceFile, base_url: str | None = None) -> str:
        template = base_url.rstrip("/") + "/{path}" if base_url else self.url
        return template.format(repository=self.repository, commit=self.commit, path=source_file.path)


@dataclass(frozen=True, slots=True)
class SetMapping:
    """A whole mapping file."""

    name: str
    description: str
    namespace: str
    type_key: str | None
    identifiers: tuple[tuple[str, str, bool], ...]
    identifier_default: str
    types: Mapping[str, TypeMapping]
    source: Source | None
    path: Path

    def type_for_root(self, local_name: str) -> TypeMapping | None:
        for mapping in self.types.values():
            if local_name in mapping.roots:
                return mapping
        return None


def _roles(values: object, where: str) -> frozenset[Role]:
    if not isinstance(values, list):
        raise MappingError(f"{where}: roles must be a list")
    try:
        return frozenset(Role(value) for value in values)
    except ValueError as exc:
        raise MappingError(f"{where}: {exc}") from exc


def _strings(values: object, where: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise MappingError(f"{where}: expected a list of strings")
    return tuple(values)


def _file_rule(raw: object, where: str) -> FileRule:
    if not isinstance(raw, dict) or not isinstance(raw.get("pattern"), str | list):
        raise MappingError(f"{where}: a file rule needs a pattern (or a list of them)")
    pattern = raw["pattern"]
    patterns = (pattern,) if isinstance(pattern, str) else _strings(pattern, f"{where}.pattern")
    kind = raw.get("kind", "message")
    if kind not in FILE_KINDS:
        raise MappingError(f"{where}: file kind {kind!r} is not one of {', '.join(FILE_KINDS)}")
    when = raw.get("when", {})
    if not isinstance(when, dict) or not all(isinstance(v, str) for v in when.values()):
        raise MappingError(f"{where}: 'when' must map manifest keys to values")
    minimum, maximum = int(raw.get("min", 1)), int(raw.get("max", 1))
    if minimum < 0 or maximum < minimum:
        raise MappingError(f"{where}: min and max must satisfy 0 <= min <= max")
    schema = raw.get("schema")
    if kind == "xml" and not isinstance(schema, str):
        raise MappingError(f"{where}: an xml file rule names its schema")
    check = raw.get("check")
    if check is not None and (kind != "attachment" or check not in FILE_CHECKS):
        raise MappingError(f"{where}: check must be one of {', '.join(FILE_CHECKS)}, on an attachment")
    return FileRule(patterns, kind, schema, minimum, maximum, MappingProxyType(dict(when)), check)


def _type_mapping(name: str, raw: dict[str, object], where: str) -> TypeMapping:
    roots = raw.get("roots", [raw["root"]] if "root" in raw else [])
    routing = raw.get("routing", {})
    if not isinstance(routing, dict) or any(key not in ROUTING_KEYS for key in routing):
        raise MappingError(f"{where}: routing keys must be among {', '.join(ROUTING_KEYS)}")
    manifest = raw.get("manifest", {})
    if not isinstance(manifest, dict):
        raise MappingError(f"{where}: manifest must be a table")
    values = manifest.get("values", {})
    if not isinstance(values, dict):
        raise MappingError(f"{where}: manifest.values must be a table")
    files = raw.get("files", [])
    if not isinstance(files, list):
        raise MappingError(f"{where}: files must be an array of tables")
    schema = raw.get("schema")
    ack = manifest.get("ack")
    return TypeMapping(
        name=name,
        roots=_strings(roots, f"{where}.roots"),
        schema=schema if isinstance(schema, str) else None,
        sender_roles=_roles(raw.get("sender_roles"), f"{where}.sender_roles"),
        recipient_roles=_roles(raw.get("recipient_roles"), f"{where}.recipient_roles"),
        routing=MappingProxyType({str(k): str(v) for k, v in routing.items()}),
        required_keys=_strings(manifest.get("required", []), f"{where}.manifest.required"),
        allowed_values=MappingProxyType(
            {str(key): _strings(allowed, f"{where}.manifest.values.{key}") for key, allowed in values.items()}
        ),
        ack_status=ack if isinstance(ack, str) else None,
        files=tuple(_file_rule(rule, f"{where}.files[{i}]") for i, rule in enumerate(files)),
        description=str(raw.get("description", "")),
    )


def _source(raw: object, where: str) -> Source | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise MappingError(f"{where}: source must be a table")
    files = raw.get("files", {})
    if not isinstance(files, dict):
        raise MappingError(f"{where}.files must be a table")
    parsed = []
    for name, entry in files.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise MappingError(f"{where}.files.{name}: needs path and sha256")
        digest = str(entry.get("sha256", "")).lower()
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise MappingError(f"{where}.files.{name}: sha256 must be 64 hex digits")
        if Path(name).name != name:
            raise MappingError(f"{where}.files.{name}: a file name, not a path")
        parsed.append(SourceFile(name, entry["path"], digest))
    try:
        return Source(str(raw["repository"]), str(raw["commit"]), str(raw["url"]), tuple(parsed))
    except KeyError as exc:
        raise MappingError(f"{where}: missing {exc}") from exc


def load_mapping(path: Path) -> SetMapping:
    """Read and check one mapping file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MappingError(f"cannot read {path}: {exc}") from exc
    head = raw.get("set", {})
    if not isinstance(head, dict) or not isinstance(head.get("name"), str):
        raise MappingError(f"{path}: [set] needs a name")
    identifiers = []
    for index, entry in enumerate(raw.get("identifiers", [])):
        if not isinstance(entry, dict) or entry.get("kind") not in IDENTIFIER_KINDS or "path" not in entry:
            raise MappingError(f"{path}: identifiers[{index}] needs a path and a kind of {', '.join(IDENTIFIER_KINDS)}")
        if not isinstance(entry.get("party", False), bool):
            raise MappingError(f"{path}: identifiers[{index}].party must be true or false")
        identifiers.append((str(entry["path"]), str(entry["kind"]), bool(entry.get("party", False))))
    types_raw = raw.get("types", {})
    if not isinstance(types_raw, dict) or not types_raw:
        raise MappingError(f"{path}: no [types]")
    types = {}
    for name, table in types_raw.items():
        if not isinstance(table, dict):
            raise MappingError(f"{path}: types.{name} must be a table")
        try:
            types[name] = _type_mapping(name, table, f"types.{name}")
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, MappingError):
                raise MappingError(f"{path}: {exc}") from exc
            raise MappingError(f"{path}: types.{name}: {exc}") from exc
    type_key = head.get("type_key")
    identifier_default = str(head.get("identifier_checks", "enforce"))
    if identifier_default not in ("enforce", "warn", "off"):
        raise MappingError(f"{path}: [set] identifier_checks must be enforce, warn or off")
    return SetMapping(
        name=head["name"],
        description=str(head.get("description", "")),
        namespace=str(head.get("namespace", "")),
        type_key=type_key if isinstance(type_key, str) else None,
        identifiers=tuple(identifiers),
        identifier_default=identifier_default,
        types=MappingProxyType(types),
        source=_source(raw.get("source"), f"{path}: source"),
        path=path,
    )
