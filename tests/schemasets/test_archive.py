"""The safe ZIP reader: limits on the central directory, hostile names, nested archives, entries that lie."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest

from broker.schemasets.archive import ArchiveError, SafeZip, ZipLimits
from tests.schemasets.packages import write_zip


def _codes(path: Path, limits: ZipLimits | None = None) -> list[str]:
    with pytest.raises(ArchiveError) as caught:
        SafeZip(path, limits)
    return [finding.code for finding in caught.value.findings]


def test_a_plain_archive_reads_entry_by_entry(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "ok.zip", {"a.xml": b"<a/>", "dir/b.pdf": b"%PDF-1.7" + b"x" * 1000})
    with SafeZip(path) as archive:
        assert archive.names() == ["a.xml", "dir/b.pdf"]
        assert archive.read(archive.entries[0]) == b"<a/>"
        assert archive.drain(archive.entries[1]) == 1008


@pytest.mark.parametrize(
    "name", ["../evil.xml", "/etc/passwd", "a\\..\\b.xml", "c:evil.xml", "a/../../b.xml", "x\x01.xml"]
)
def test_names_that_leave_the_archive_are_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo(name), b"<a/>")
    assert _codes(path) == ["zip:name"]


def test_nested_archives_are_refused_by_name_and_by_content(tmp_path: Path) -> None:
    inner = write_zip(tmp_path / "inner.zip", {"a.xml": b"<a/>"}).read_bytes()
    assert _codes(write_zip(tmp_path / "n1.zip", {"inner.zip": inner})) == ["zip:name"]
    with (
        SafeZip(write_zip(tmp_path / "n2.zip", {"inner.xml": inner})) as archive,
        pytest.raises(ArchiveError) as caught,
    ):
        archive.read(archive.entries[0])
    assert [f.code for f in caught.value.findings] == ["zip:nested"]


def test_limits_on_entries_sizes_and_ratio(tmp_path: Path) -> None:
    many = write_zip(tmp_path / "many.zip", {f"f{i}.xml": b"<a/>" for i in range(6)})
    assert _codes(many, ZipLimits(max_entries=5)) == ["zip:entries"]
    bomb = write_zip(tmp_path / "bomb.zip", {"bomb.xml": b"<a>" + b" " * 5_000_000 + b"</a>"})
    assert _codes(bomb) == ["zip:ratio"]
    big = write_zip(tmp_path / "big.zip", {"a.pdf": bytes(range(256)) * 800}, method=zipfile.ZIP_STORED)
    assert _codes(big, ZipLimits(max_entry_bytes=100_000)) == ["zip:size"]
    assert _codes(big, ZipLimits(max_total_bytes=100_000)) == ["zip:size"]


def test_duplicates_and_encryption_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("A.xml", b"<a/>")
        archive.writestr("a.XML", b"<b/>")
    assert _codes(path) == ["zip:duplicate"]
    encrypted = write_zip(tmp_path / "enc.zip", {"a.xml": b"<a/>"})
    data = bytearray(encrypted.read_bytes())
    central = data.rindex(b"PK\x01\x02")
    data[central + 8] |= 0x1  # the general-purpose flag's "encrypted" bit
    encrypted.write_bytes(bytes(data))
    assert "zip:encrypted" in _codes(encrypted)


def test_an_entry_that_lies_about_its_size_fails_when_read(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "lie.zip", {"a.xml": b"<a>" + b"x" * 2000 + b"</a>"}, method=zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    # Shrink the declared uncompressed size in the central directory and the local header to 10 bytes.
    central = data.rindex(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 10)
    struct.pack_into("<I", data, 22, 10)
    path.write_bytes(bytes(data))
    with SafeZip(path) as archive, pytest.raises(ArchiveError) as caught:
        archive.read(archive.entries[0])
    assert caught.value.findings[0].code in {"zip:corrupt", "zip:size"}


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "x.zip"
    path.write_bytes(b"<xml/>")
    assert _codes(path) == ["zip:format"]


def test_a_broken_deflate_stream_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    """zlib.error is neither OSError nor ValueError: a corrupt compressed entry went past the reader (fuzzing)."""
    path = tmp_path / "broken.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("melding.xml", b"<a>" + bytes(range(256)) * 40 + b"</a>")
    data = bytearray(path.read_bytes())
    start = 30 + len("melding.xml")  # the local header, then the compressed stream
    data[start : start + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))
    with SafeZip(path) as archive, pytest.raises(ArchiveError) as caught:
        archive.read(archive.entries[0])
    assert caught.value.findings[0].code == "zip:corrupt"


def test_a_zip_version_the_reader_cannot_read_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    """zipfile raises NotImplementedError for a "version needed to extract" above what it reads (fuzzing)."""
    path = tmp_path / "future.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("melding.xml", b"<a/>")
    data = bytearray(path.read_bytes())
    central = data.index(b"PK\x01\x02")
    data[central + 6 : central + 8] = struct.pack("<H", 148)  # version needed to extract: 14.8
    path.write_bytes(bytes(data))
    assert _codes(path) == ["zip:format"]
