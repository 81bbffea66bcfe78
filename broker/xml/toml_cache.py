"""TOML files read through a cache of their parsed tables, kept beside them as Python keeps bytecode.

``dsve validate`` on one file is mostly start-up, and importing ``tomllib`` and parsing the catalogue was
a tenth of it. The parsed tables are written (``marshal``) to ``__pycache__/<name>.<tag>.marshal`` beside the
file, together with the exact bytes they were parsed from; a later read uses them only when those bytes
are the file's bytes now, so an edited file is parsed afresh whatever its timestamps say. Like Python's
own caches: nothing is written when bytecode writing is off (``PYTHONDONTWRITEBYTECODE``), a directory that
cannot be written is no error, and the cache is trusted as far as the directory it sits in.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
from pathlib import Path
from typing import Any


class TomlError(ValueError):
    """The file cannot be read or is no valid TOML."""


def _cache_file(path: Path) -> Path:
    return path.parent / "__pycache__" / f"{path.name}.{sys.implementation.cache_tag}.marshal"


def _cached(cache: Path, source: bytes) -> dict[str, Any] | None:
    try:
        entry = marshal.loads(cache.read_bytes())  # noqa: S302 (written by this module, beside the source)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == source and isinstance(entry[1], dict):
        return entry[1]
    return None


def _store(cache: Path, source: bytes, tables: dict[str, Any]) -> None:
    try:
        data = marshal.dumps((source, tables))
    except ValueError:  # a value marshal cannot hold (TOML dates and times): parse this file every time
        return
    temporary = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
    try:
        cache.parent.mkdir(exist_ok=True)
        temporary.write_bytes(data)
        os.replace(temporary, cache)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)


def load_toml(path: Path) -> dict[str, Any]:
    """The tables of the TOML file at ``path``: from the cache when it holds these exact bytes, else parsed."""
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise TomlError(str(exc)) from exc
    cache = _cache_file(path)
    tables = _cached(cache, source)
    if tables is not None:
        return tables
    import tomllib

    try:
        tables = tomllib.loads(source.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TomlError(str(exc)) from exc
    if not sys.dont_write_bytecode:
        _store(cache, source, tables)
    return tables
