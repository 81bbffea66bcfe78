"""Subcommands: ``dsve validate`` (files against the catalogue or one schema) and ``dsve schemas``.

Every ``dsve`` invocation imports this module to build its parser, so it imports nothing heavy at module
level: lxml and the catalogue load only when a command of this group runs.

Large batches are spread over every core: the process compiles the schemas once, then forks copies that
inherit them, and it and they validate chunks of files (``forked_map``), answering compact tuples (nothing
for a valid file) so that little crosses the process boundary. Output keeps the order of the input.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TextIO

if TYPE_CHECKING:
    from broker.xml.catalogue import Catalogue, CompiledSchema

# Below this many files a pool costs more than it saves.
PARALLEL_THRESHOLD = 200
CHUNKS_PER_WORKER = 8
# Bytes asked for by a file's first read: more than almost any message, so most files need no second one.
FIRST_READ = 1 << 16

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


class FileResult(NamedTuple):
    """One file's outcome: issues as (line, column, path, message, code) tuples; ``unreadable`` says why not."""

    file: str
    message_type: str | None
    issues: tuple[tuple[int, int, str, str, str], ...]
    unreadable: str | None = None


Outcome = tuple[str | None, tuple[tuple[int, int, str, str, str], ...], str | None]


class _Checker:
    """Validates files in one process: the catalogue (or one ``--schema``), the limits and the functions it
    calls, bound once, so the loop over thousands of files does no imports or lookups per file."""

    def __init__(self, xsd_dir: str, schema_file: str | None) -> None:
        from broker.domain.errors import Refusal
        from broker.xml.catalogue import Catalogue, CompiledSchema, compile_schema
        from broker.xml.parsing import parse_xml
        from broker.xml.settings import limits_from_env
        from broker.xml.validation import validate_tree, validate_with_schema

        self.limits = limits_from_env()
        self.catalogue: Catalogue | None = None
        self.compiled: CompiledSchema | None = None
        if schema_file is not None:
            self.compiled = CompiledSchema(compile_schema(Path(schema_file)))
        else:
            # Schemas compile on first use: a run over one file compiles one schema, not the whole catalogue.
            self.catalogue = Catalogue.load(Path(xsd_dir))
        self._refusal = Refusal
        self._parse = parse_xml
        self._validate_tree = validate_tree
        self._validate_with_schema = validate_with_schema

    def prepare_for_fork(self) -> None:
        """Compile every schema now, once: forked workers inherit them instead of each compiling its own."""
        if self.catalogue is not None:
            self.catalogue.compile_all()

    def outcome(self, name: str) -> Outcome:
        """One file's (message type, issues, why unreadable): compact, as it crosses the process boundary."""
        limits = self.limits
        try:
            data = _read(name, limits.max_bytes)
        except OSError as exc:
            return None, (), exc.strerror or str(exc)
        try:
            tree = self._parse(data, limits)
        except self._refusal as refusal:
            return None, tuple((i.line, i.column, i.path, i.message, i.code) for i in refusal.issues), None
        if self.compiled is not None:
            report = self._validate_with_schema(tree, self.compiled, data)
        else:
            assert self.catalogue is not None
            report = self._validate_tree(tree, self.catalogue, data)
        if not report.issues:
            return report.message_type, (), None
        return report.message_type, tuple((i.line, i.column, i.path, i.message, i.code) for i in report.issues), None

    def outcomes(self, names: list[str]) -> list[Outcome]:
        outcome = self.outcome
        return [outcome(name) for name in names]


def _read(name: str, max_bytes: int) -> bytes:
    """The file's bytes, at most ``max_bytes + 1`` of them (enough for the parser to refuse it as too large).

    Plain descriptors rather than a buffered file object, and no ``stat``: a message fits the first read,
    and a regular file answers a short read only at its end, so most files cost one open, read and close.
    """
    limit = max_bytes + 1
    fd = os.open(name, os.O_RDONLY)
    try:
        want = min(FIRST_READ, limit)
        data = os.read(fd, want)
        if len(data) < want:
            return data
        chunks = [data]
        size = len(data)
        while size < limit:
            chunk = os.read(fd, min(1 << 20, limit - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _xml_files(directory: str) -> list[str]:
    """Every ``*.xml`` file under ``directory``, in the order of their path components.

    One ``scandir`` per directory (the entry types come with the listing) rather than ``Path.rglob`` and a
    ``stat`` per file: for ten thousand files that is the difference between about 10 and 100 ms. Like
    ``rglob``, it does not descend into symbolic links to directories, but takes symbolic links to files.
    A directory's entries are sorted by name and a subdirectory is walked where its name sorts: two names
    in one directory never tie, so that is the order of the whole paths' components, and sorting each
    directory's few hundred names costs half of sorting ten thousand paths' tuples at the end.
    """
    found: list[str] = []
    pending: list[os.DirEntry[str]] = []  # the entries still to visit, the next one last
    folder: str | None = directory
    while True:
        if folder is not None:
            try:
                with os.scandir(folder) as listing:
                    pending.extend(sorted(listing, key=_entry_name, reverse=True))
            except OSError:
                pass
        if not pending:
            return found
        entry = pending.pop()
        folder = None
        if entry.is_dir(follow_symlinks=False):
            folder = entry.path
        elif entry.name.endswith(".xml") and entry.is_file():
            found.append(entry.path)


_entry_name = attrgetter("name")


def _collect(targets: Sequence[str]) -> tuple[list[str], list[FileResult]]:
    """Files to validate (directories walked for ``*.xml``, sorted), and the targets that do not exist."""
    files: list[str] = []
    missing: list[FileResult] = []
    for target in targets:
        if os.path.isdir(target):
            files.extend(_xml_files(str(Path(target))))
        elif os.path.exists(target):
            files.append(target)
        else:
            missing.append(FileResult(target, None, (), "no such file or directory"))
    return files, missing


def _outcomes(checker: _Checker, files: list[str], jobs: int) -> Iterator[Outcome]:
    if jobs <= 1 or len(files) < PARALLEL_THRESHOLD:
        yield from map(checker.outcome, files)
        return
    from broker.cli.forked_map import forked_map

    checker.prepare_for_fork()
    # Several chunks per process, so a process slowed by other work on the machine does not hold up the end.
    size = max(25, -(-len(files) // (jobs * CHUNKS_PER_WORKER)))
    for outcomes in forked_map(checker.outcomes, list(_chunks(files, size)), jobs):
        yield from outcomes


def _run(checker: _Checker, files: list[str], jobs: int) -> Iterator[FileResult]:
    for name, (message_type, issues, unreadable) in zip(files, _outcomes(checker, files, jobs), strict=True):
        yield FileResult(name, message_type, issues, unreadable)


def _print_text(results: Iterable[FileResult], out: TextIO) -> tuple[int, int, int]:
    valid = invalid = unreadable = 0
    write = out.write
    for result in results:
        if result.unreadable is not None:
            unreadable += 1
            write(f"{result.file}:0:0: cannot read: {result.unreadable}\n")
        elif result.issues:
            invalid += 1
            for line, column, _path, message, _code in result.issues:
                write(f"{result.file}:{line}:{column}: {message}\n")
        else:
            valid += 1
    return valid, invalid, unreadable


def _as_json(result: FileResult) -> dict[str, object]:
    errors = [
        {"line": line, "column": column, "path": path, "message": message, "code": code}
        for line, column, path, message, code in result.issues
    ]
    entry: dict[str, object] = {
        "file": result.file,
        "messageType": result.message_type,
        "valid": result.unreadable is None and not result.issues,
        "errors": errors,
    }
    if result.unreadable is not None:
        entry["unreadable"] = result.unreadable
    return entry


def _exit_code(invalid: int, unreadable: int) -> int:
    if unreadable:
        return EXIT_USAGE
    return EXIT_INVALID if invalid else EXIT_OK


def validate_command(args: argparse.Namespace) -> int:
    """``dsve validate``: exit 0 when every file is valid, 1 when any is invalid, 2 on usage or I/O trouble."""
    from broker.cli.package_commands import package_validate_command, wants_package_mode
    from broker.xml.catalogue import CatalogueError
    from broker.xml.settings import xsd_dir_from_env

    if wants_package_mode(args):
        return package_validate_command(args)
    try:
        xsd_dir = str(args.xsd_dir or xsd_dir_from_env())
        checker = _Checker(xsd_dir, args.schema)
    except (CatalogueError, ValueError, OSError) as exc:
        print(f"dsve validate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    files, missing = _collect(args.paths)
    if not files and not missing:
        print("dsve validate: no *.xml files found", file=sys.stderr)
        return EXIT_USAGE
    jobs = args.jobs or os.cpu_count() or 1
    results = chain(missing, _run(checker, files, jobs))
    try:
        if args.format == "json":
            return _report_json(results)
        return _report_text(results)
    except CatalogueError as exc:  # a schema of the catalogue that fails to compile on first use
        print(f"dsve validate: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _report_json(results: Iterable[FileResult]) -> int:
    import json

    entries = [_as_json(r) for r in results]
    unreadable = sum(1 for e in entries if "unreadable" in e)
    invalid = sum(1 for e in entries if not e["valid"]) - unreadable
    summary = {"files": len(entries), "valid": len(entries) - invalid - unreadable, "invalid": invalid}
    summary["unreadable"] = unreadable
    json.dump({"files": entries, "summary": summary}, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return _exit_code(invalid, unreadable)


def _report_text(results: Iterable[FileResult]) -> int:
    valid, invalid, unreadable = _print_text(results, sys.stdout)
    total = valid + invalid + unreadable
    tail = f", {unreadable} unreadable" if unreadable else ""
    print(f"{total} file{'s' if total != 1 else ''}: {valid} valid, {invalid} invalid{tail}")
    return _exit_code(invalid, unreadable)


def schemas_command(args: argparse.Namespace) -> int:
    """``dsve schemas``: the catalogue, one line per message type (or JSON)."""
    from broker.config import Settings
    from broker.xml.catalogue import Catalogue, CatalogueError

    try:
        catalogue = Catalogue.load(Path(args.xsd_dir or Settings.from_env().xsd_dir))
    except (CatalogueError, ValueError) as exc:
        print(f"dsve schemas: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.format == "json":
        entries = [
            {
                "messageType": spec.name,
                "family": spec.family,
                "namespace": spec.namespace,
                "schema": spec.schema_file.name,
                "senderRoles": sorted(spec.sender_roles),
                "recipientRoles": sorted(spec.recipient_roles),
                "description": spec.description,
            }
            for spec in catalogue
        ]
        import json

        json.dump(entries, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    width = max((len(spec.name) for spec in catalogue), default=0)
    family_width = max((len(spec.family) for spec in catalogue), default=0)
    for spec in catalogue:
        roles = f"{'|'.join(sorted(spec.sender_roles))} → {'|'.join(sorted(spec.recipient_roles))}"
        print(f"{spec.name:<{width}}  {spec.family:<{family_width}}  {roles}")
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``validate``."""
    validate = subparsers.add_parser(
        "validate",
        help="validate XML files against the catalogue (type from the root element) or one schema",
        description="Validate XML files. Each error is printed as file:line:column: message. "
        "Exit 0 when all are valid, 1 when any is invalid, 2 on usage errors or unreadable files.",
    )
    validate.add_argument("paths", nargs="+", metavar="FILE|DIR", help="files, or directories to walk for *.xml")
    validate.add_argument("--schema", metavar="X.xsd", help="validate against this schema instead of the catalogue")
    validate.add_argument("--format", choices=("text", "json"), default="text")
    validate.add_argument("--xsd-dir", metavar="DIR", help="the catalogue directory (default: DSVE_XSD_DIR)")
    validate.add_argument("--jobs", type=int, default=0, metavar="N", help="processes (default: one per core)")
    validate.set_defaults(func=validate_command)
    from broker.cli.package_commands import add_package_arguments

    add_package_arguments(validate)


def register_schemas(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``schemas`` with its actions on the schema sets (apart from ``validate``: it builds four parsers)."""
    schemas = subparsers.add_parser("schemas", help="list the message catalogue: type, family, sender → recipient")
    schemas.add_argument("--format", choices=("text", "json"), default="text")
    schemas.add_argument("--xsd-dir", metavar="DIR", help="the catalogue directory (default: DSVE_XSD_DIR)")
    schemas.set_defaults(func=schemas_command)
    from broker.cli.schema_set_commands import register_set_commands

    register_set_commands(schemas)
