"""``dsve schemas list|add|download``: the schema sets (the native catalogue and the third-party sets).

Imported by ``schema_commands`` to hang these under ``dsve schemas``; heavy imports stay inside the commands.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def list_command(args: argparse.Namespace) -> int:
    """Every set: its mapping, where its schemas are and whether they load."""
    from broker.config import Settings
    from broker.schemasets.configured import NATIVE, all_mappings, configured_dirs, load_sets
    from broker.schemasets.mapping import MappingError
    from broker.schemasets.schema_set import SchemaSetError

    try:
        settings = Settings.from_env()
        mappings = all_mappings()
        dirs = configured_dirs(settings.data_dir, settings.schema_sets)
        loaded = load_sets(settings.data_dir, settings.schema_sets)
    except (MappingError, SchemaSetError, ValueError) as exc:
        print(f"dsve schemas list: {exc}", file=sys.stderr)
        return EXIT_USAGE
    rows: list[dict[str, object]] = [
        {"name": NATIVE, "directory": str(settings.xsd_dir), "state": "ready", "types": None, "description": ""}
    ]
    for name, mapping in mappings.items():
        directory = dirs.get(name)
        if name in loaded.sets:
            state = "ready"
        elif directory is None:
            state = "not configured"
        else:
            state = f"unusable: {loaded.problems.get(name, '')}"
        rows.append(
            {
                "name": name,
                "directory": str(directory) if directory else None,
                "state": state,
                "types": sorted(mapping.types),
                "description": mapping.description,
            }
        )
    for name, problem in loaded.problems.items():
        if name not in mappings:
            rows.append({"name": name, "directory": str(dirs[name]), "state": f"unusable: {problem}", "types": None})
    if args.format == "json":
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    for row in rows:
        types = row["types"]
        count = f"{len(types)} types" if isinstance(types, list) else "catalogue.toml"
        print(f"{row['name']:<12} {count:<15} {row['state']:<15} {row['directory'] or '-'}")
    return EXIT_OK


def add_command(args: argparse.Namespace) -> int:
    """Check a directory against a set's mapping (every schema present and compiling), then record it."""
    from broker.config import Settings
    from broker.schemasets.configured import add_set
    from broker.schemasets.schema_set import SchemaSetError

    try:
        schema_set = add_set(Settings.from_env().data_dir, args.name, Path(args.directory))
    except (SchemaSetError, ValueError, OSError) as exc:
        print(f"dsve schemas add: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"schema set {schema_set.name}: {len(schema_set.mapping.types)} types, schemas in {schema_set.directory}")
    return EXIT_OK


def download_command(args: argparse.Namespace) -> int:
    """Fetch a set's schemas at the pinned commit, checking each file's SHA-256."""
    from broker.schemasets.configured import mapping_files
    from broker.schemasets.download import DownloadError, download_set
    from broker.schemasets.mapping import MappingError, load_mapping

    path = mapping_files().get(args.name)
    if path is None:
        print(f"dsve schemas download: no schema set {args.name!r}", file=sys.stderr)
        return EXIT_USAGE
    try:
        mapping = load_mapping(path)
        written = download_set(mapping, Path(args.directory), args.base_url)
    except (DownloadError, MappingError, OSError) as exc:
        print(f"dsve schemas download: {exc}", file=sys.stderr)
        return EXIT_FAILED
    commit = mapping.source.commit if mapping.source else ""
    for file in written:
        print(f"{file}  (SHA-256 checked, commit {commit})")
    print(f"add it with: dsve schemas add {args.name} {args.directory}")
    return EXIT_OK


def register_set_commands(schemas: argparse.ArgumentParser) -> None:
    """``list``, ``add`` and ``download`` under ``dsve schemas`` (which alone still lists the native catalogue)."""
    actions = schemas.add_subparsers(dest="schemas_command", metavar="ACTION")
    listing = actions.add_parser("list", help="the schema sets: native and third-party, and whether each is ready")
    listing.add_argument("--format", choices=("text", "json"), default="text")
    listing.set_defaults(func=list_command)
    add = actions.add_parser("add", help="use a directory of third-party schemas for a schema set")
    add.add_argument("name", help="the set (a mapping file in xsd/sets/: dsve, etinglysing)")
    add.add_argument("directory", help="the directory that holds the set's schema files")
    add.set_defaults(func=add_command)
    download = actions.add_parser(
        "download", help="fetch a set's schemas from their public repository at the pinned commit (SHA-256 checked)"
    )
    download.add_argument("name", help="the set (dsve, etinglysing)")
    download.add_argument("directory", help="where to write the schema files")
    download.add_argument("--base-url", help="a mirror serving the repository's files by path (instead of GitHub)")
    download.set_defaults(func=download_command)
