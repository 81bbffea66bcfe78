"""What parsing and validating read from the environment: the catalogue directory and the structural limits.

Apart from :mod:`broker.config` so that what only parses and validates (``dsve validate``) reads these
without building the broker's settings, which check and convert every other variable too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

REPO_XSD_DIR = Path(__file__).resolve().parent.parent.parent / "xsd"


class XmlLimits(NamedTuple):
    """Structural limits applied while parsing, before any schema work: they bound memory and CPU.

    A named tuple rather than a dataclass, as the other records ``dsve validate`` loads (see
    ``broker.domain.errors``)."""

    max_bytes: int = 10 * 1024 * 1024
    max_depth: int = 64
    max_elements: int = 100_000
    max_text_bytes: int = 4 * 1024 * 1024


def env_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError as exc:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from exc


def xsd_dir_from_env(environ: Mapping[str, str] | None = None) -> Path:
    """``DSVE_XSD_DIR``, else the ``xsd/`` of this checkout."""
    env = os.environ if environ is None else environ
    return Path(env.get("DSVE_XSD_DIR", "").strip() or REPO_XSD_DIR)


def limits_from_env(environ: Mapping[str, str] | None = None) -> XmlLimits:
    """``DSVE_MAX_BODY_BYTES``, ``DSVE_MAX_DEPTH``, ``DSVE_MAX_ELEMENTS`` and ``DSVE_MAX_TEXT_BYTES``."""
    env = os.environ if environ is None else environ
    return XmlLimits(
        max_bytes=env_int(env, "DSVE_MAX_BODY_BYTES", 10 * 1024 * 1024),
        max_depth=env_int(env, "DSVE_MAX_DEPTH", 64),
        max_elements=env_int(env, "DSVE_MAX_ELEMENTS", 100_000),
        max_text_bytes=env_int(env, "DSVE_MAX_TEXT_BYTES", 4 * 1024 * 1024),
    )
