"""Which schema sets this broker has: the mapping files of the repository and the directories that hold their
schemas, from the setting ``DSVE_SCHEMA_SETS`` (``name=DIR,...``) and from ``dsve schemas add`` (recorded in
``<data dir>/schema-sets.toml``; the setting wins for a name in both).

A set whose directory is not configured is known by its mapping (its types and roles count for capabilities)
but cannot check a package; a configured directory that lacks a schema is refused when the set is loaded.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from broker.config import REPO_XSD_DIR
from broker.schemasets.mapping import MappingError, SetMapping, load_mapping
from broker.schemasets.schema_set import SchemaSet, SchemaSetError

MAPPINGS_DIR = REPO_XSD_DIR / "sets"
REGISTERED_FILE = "schema-sets.toml"
NATIVE = "native"


def mapping_files(mappings_dir: Path = MAPPINGS_DIR) -> dict[str, Path]:
    """The mapping files of the repository, by set name (the file's stem)."""
    return {path.stem: path for path in sorted(mappings_dir.glob("*.toml"))}


def all_mappings(mappings_dir: Path = MAPPINGS_DIR) -> dict[str, SetMapping]:
    return {name: load_mapping(path) for name, path in mapping_files(mappings_dir).items()}


def registered_dirs(data_dir: Path) -> dict[str, Path]:
    """The sets added with ``dsve schemas add`` (relative directories are relative to the data dir)."""
    path = data_dir / REGISTERED_FILE
    if not path.is_file():
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SchemaSetError(f"cannot read {path}: {exc}") from exc
    sets = raw.get("sets", {})
    if not isinstance(sets, dict):
        raise SchemaSetError(f"{path}: [sets] must map names to directories")
    return {str(name): data_dir / str(directory) for name, directory in sets.items()}


def configured_dirs(data_dir: Path, setting: tuple[tuple[str, Path], ...]) -> dict[str, Path]:
    dirs = registered_dirs(data_dir)
    dirs.update(dict(setting))
    return dirs


@dataclass(frozen=True, slots=True)
class LoadedSets:
    """The usable sets by name, and why the configured ones that are not usable are not."""

    sets: dict[str, SchemaSet]
    problems: dict[str, str]


def open_set(name: str, directory: Path, mappings_dir: Path = MAPPINGS_DIR) -> SchemaSet:
    """The set ``name`` with its schemas in ``directory``; every schema must be there and compile."""
    path = mapping_files(mappings_dir).get(name)
    if path is None:
        known = ", ".join(mapping_files(mappings_dir)) or "none"
        raise SchemaSetError(f"no mapping file for a schema set {name!r} (known: {known})")
    try:
        schema_set = SchemaSet(load_mapping(path), directory)
    except MappingError as exc:
        raise SchemaSetError(str(exc)) from exc
    missing = schema_set.missing_schemas()
    if missing:
        raise SchemaSetError(f"schema set {name}: {', '.join(missing)} not found in {schema_set.directory}")
    schema_set.compile_all()
    return schema_set


def load_sets(data_dir: Path, setting: tuple[tuple[str, Path], ...]) -> LoadedSets:
    sets: dict[str, SchemaSet] = {}
    problems: dict[str, str] = {}
    for name, directory in configured_dirs(data_dir, setting).items():
        try:
            sets[name] = open_set(name, directory)
        except SchemaSetError as exc:
            problems[name] = str(exc)
    return LoadedSets(sets, problems)


def add_set(data_dir: Path, name: str, directory: Path) -> SchemaSet:
    """Check that ``directory`` holds the set's schemas, then record it in the data dir."""
    directory = directory.resolve()
    schema_set = open_set(name, directory)
    current = {key: str(value) for key, value in registered_dirs(data_dir).items()}
    current[name] = str(directory)
    data_dir.mkdir(parents=True, exist_ok=True)
    lines = ["# Schema sets added with `dsve schemas add`: name = the directory of its schemas", "[sets]"]
    lines += [f"{key} = {_toml_string(value)}" for key, value in sorted(current.items())]
    target = data_dir / REGISTERED_FILE
    temporary = target.with_suffix(".tmp")
    temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    temporary.replace(target)
    return schema_set


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
