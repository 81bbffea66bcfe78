"""Reading an uploaded ZIP safely: from a file on disk, one entry at a time, never the whole archive in memory.

The central directory is checked before any entry is inflated: the number of entries, the sum of the
declared sizes, each entry's compression ratio, names that climb out of the archive (``..``, absolute,
drive letters, backslashes, control characters), duplicates (also by case), encryption and unknown
compression methods, and nested archives by name. Then each entry is read through a counter: inflating
stops at the declared size (zipfile's own bound) and the CRC is checked at the end, so an entry that lies
about its size fails rather than filling memory; its first bytes are checked for an archive's signature.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from broker.schemasets.findings import Finding

CHUNK = 64 * 1024
_NESTED_SUFFIXES = (".zip", ".jar", ".gz", ".tgz", ".tar", ".7z", ".rar", ".bz2", ".xz", ".zst", ".cab")
_ARCHIVE_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"7z\xbc\xaf\x27\x1c", b"Rar!", b"BZh", b"\xfd7zXZ")
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f\\:]")
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


@dataclass(frozen=True, slots=True)
class ZipLimits:
    max_entries: int = 50
    max_total_bytes: int = 64 * 1024 * 1024
    max_entry_bytes: int = 32 * 1024 * 1024
    max_ratio: int = 100


class ArchiveError(Exception):
    """The archive cannot be read safely; ``findings`` says why (every problem of the central directory)."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__("; ".join(f.message for f in findings))
        self.findings = findings


def _name_problem(name: str) -> str | None:
    if not name or _BAD_NAME.search(name):
        return "has a backslash, a colon or a control character"
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("/"):
        return "is an absolute path"
    if any(part == ".." for part in path.parts):
        return "climbs out of the archive (..)"
    if name.lower().endswith(_NESTED_SUFFIXES):
        return "is an archive inside the archive (nested archives are not accepted)"
    return None


class SafeZip:
    """An uploaded ZIP on disk whose central directory passed the checks; entries are read one at a time."""

    def __init__(self, path: Path, limits: ZipLimits | None = None) -> None:
        self.limits = limits or ZipLimits()
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
            # zipfile raises NotImplementedError for a version or method it cannot read: the sender's format, not ours
            finding = Finding("", f"the payload is not a readable ZIP archive: {exc}", code="zip:format")
            raise ArchiveError([finding]) from exc
        try:
            self.entries = self._check_directory()
        except ArchiveError:
            self._zip.close()
            raise

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    def _check_directory(self) -> list[zipfile.ZipInfo]:
        infos = self._zip.infolist()
        limits = self.limits
        if len(infos) > limits.max_entries:
            raise ArchiveError(
                [Finding("", f"the archive has {len(infos)} entries; at most {limits.max_entries}", code="zip:entries")]
            )
        findings: list[Finding] = []
        seen: set[str] = set()
        total = 0
        files = []
        for info in infos:
            name = info.filename
            problem = _name_problem(name)
            if problem is not None:
                findings.append(Finding(name, f"the entry name {name!r} {problem}", code="zip:name"))
                continue
            if name.lower() in seen:
                findings.append(Finding(name, f"the entry {name!r} appears twice", code="zip:duplicate"))
                continue
            seen.add(name.lower())
            if info.is_dir():
                continue
            if info.flag_bits & 0x1:
                findings.append(Finding(name, "the entry is encrypted", code="zip:encrypted"))
            if info.compress_type not in _METHODS:
                findings.append(
                    Finding(
                        name, f"compression method {info.compress_type} (only stored or deflated)", code="zip:method"
                    )
                )
            if info.file_size > limits.max_entry_bytes:
                findings.append(
                    Finding(
                        name, f"{info.file_size} bytes uncompressed; at most {limits.max_entry_bytes}", code="zip:size"
                    )
                )
            if info.file_size > limits.max_ratio * max(info.compress_size, 1):
                findings.append(
                    Finding(
                        name,
                        f"compression ratio over {limits.max_ratio}:1"
                        f" ({info.file_size} from {info.compress_size} bytes)",
                        code="zip:ratio",
                    )
                )
            total += info.file_size
            files.append(info)
        if total > limits.max_total_bytes:
            findings.append(
                Finding("", f"{total} bytes uncompressed in all; at most {limits.max_total_bytes}", code="zip:size")
            )
        if findings:
            raise ArchiveError(findings)
        return files

    def names(self) -> list[str]:
        return [info.filename for info in self.entries]

    def _chunks(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        count = 0
        first = True
        try:
            with self._zip.open(info) as handle:
                while chunk := handle.read(CHUNK):
                    if first and chunk.startswith(_ARCHIVE_MAGIC):
                        raise ArchiveError(
                            [Finding(info.filename, "the entry is an archive inside the archive", code="zip:nested")]
                        )
                    first = False
                    count += len(chunk)
                    if count > info.file_size:
                        raise ArchiveError(
                            [Finding(info.filename, "the entry inflates beyond its declared size", code="zip:size")]
                        )
                    yield chunk
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError, zlib.error) as exc:
            raise ArchiveError(
                [Finding(info.filename, f"the entry cannot be read: {exc}", code="zip:corrupt")]
            ) from exc

    def read(self, info: zipfile.ZipInfo) -> bytes:
        """The whole entry (an XML part; bounded by the entry limit, checked before)."""
        return b"".join(self._chunks(info))

    def drain(self, info: zipfile.ZipInfo) -> int:
        """Read an attachment through without keeping it (size and CRC checked); its length."""
        return sum(len(chunk) for chunk in self._chunks(info))
