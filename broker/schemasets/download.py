"""Fetching a schema set's schemas from their public repository, pinned to one commit and checked by SHA-256.

The mapping file names each file's path at the pinned commit and its digest; a file whose bytes do not hash
to that digest is refused and nothing is written. Files are written to a temporary name in the target
directory and renamed only when every file of the set has arrived and matched, so an interrupted or refused
download never leaves a half-updated set behind. Used by the ``dsve schemas download`` command (blocking I/O
is fine there: it is never called from the server's event loop).
"""

from __future__ import annotations

import hashlib
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlsplit

from broker.schemasets.mapping import SetMapping

MAX_SCHEMA_BYTES = 8 * 1024 * 1024
TIMEOUT_S = 30


class DownloadError(RuntimeError):
    """A file could not be fetched, was too large, or did not match its pinned digest."""


def _fetch(url: str) -> bytes:
    if urlsplit(url).scheme not in ("https", "http"):
        raise DownloadError(f"{url}: only http(s) URLs are fetched")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # noqa: S310 (scheme checked above)
            data: bytes = response.read(MAX_SCHEMA_BYTES + 1)
    except OSError as exc:
        raise DownloadError(f"cannot fetch {url}: {exc}") from exc
    if len(data) > MAX_SCHEMA_BYTES:
        raise DownloadError(f"{url} is larger than {MAX_SCHEMA_BYTES} bytes")
    return data


def download_set(mapping: SetMapping, target: Path, base_url: str | None = None) -> list[Path]:
    """Fetch every source file of ``mapping`` into ``target``; ``base_url`` replaces the public host (a mirror)."""
    source = mapping.source
    if source is None:
        raise DownloadError(f"the schema set {mapping.name} names no public source to download from")
    fetched: list[tuple[Path, bytes]] = []
    for source_file in source.files:
        url = source.file_url(source_file, base_url)
        parts = urlsplit(url)
        url = parts._replace(path=quote(parts.path, safe="/%")).geturl()
        data = _fetch(url)
        digest = hashlib.sha256(data).hexdigest()
        if digest != source_file.sha256:
            raise DownloadError(
                f"{source_file.name} from {url} has SHA-256 {digest}, not the pinned {source_file.sha256} "
                f"(commit {source.commit}); nothing was written"
            )
        fetched.append((target / source_file.name, data))
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for path, data in fetched:
        temporary = path.with_name(f".{path.name}.part")
        temporary.write_bytes(data)
        written.append((temporary, path))
    for temporary, path in written:
        temporary.replace(path)
    return [path for _, path in written]
