"""TOML files read through the cache of their parsed tables: used only for the exact bytes it was made from."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from broker.xml.toml_cache import TomlError, _cache_file, load_toml


@pytest.fixture
def writing_bytecode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)


def test_the_tables_are_cached_beside_the_file_and_read_from_there(tmp_path: Path, writing_bytecode: None) -> None:
    source = tmp_path / "catalogue.toml"
    source.write_text('[a]\nschema = "a.xsd"\nroles = ["bank"]\n', encoding="utf-8")
    assert load_toml(source) == {"a": {"schema": "a.xsd", "roles": ["bank"]}}
    cache = _cache_file(source)
    assert cache.parent == tmp_path / "__pycache__" and cache.is_file()
    # The cache answers, not the parser: a marked cache for the same bytes is what comes back.
    import marshal

    cache.write_bytes(marshal.dumps((source.read_bytes(), {"from": "cache"})))
    assert load_toml(source) == {"from": "cache"}


def test_an_edited_file_is_parsed_again_whatever_its_timestamps(tmp_path: Path, writing_bytecode: None) -> None:
    source = tmp_path / "catalogue.toml"
    source.write_text("[a]\nx = 1\n", encoding="utf-8")
    assert load_toml(source) == {"a": {"x": 1}}
    stat = source.stat()
    source.write_text("[a]\nx = 2\n", encoding="utf-8")
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert load_toml(source) == {"a": {"x": 2}}


def test_nothing_is_written_when_bytecode_writing_is_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    source = tmp_path / "catalogue.toml"
    source.write_text("[a]\nx = 1\n", encoding="utf-8")
    assert load_toml(source) == {"a": {"x": 1}}
    assert not (tmp_path / "__pycache__").exists()


def test_a_directory_that_cannot_hold_the_cache_is_no_error(tmp_path: Path, writing_bytecode: None) -> None:
    source = tmp_path / "catalogue.toml"
    source.write_text("[a]\nx = 1\n", encoding="utf-8")
    (tmp_path / "__pycache__").write_text("a file where the directory would be", encoding="utf-8")
    assert load_toml(source) == {"a": {"x": 1}}
    assert load_toml(source) == {"a": {"x": 1}}


def test_a_broken_cache_is_ignored_and_replaced(tmp_path: Path, writing_bytecode: None) -> None:
    source = tmp_path / "catalogue.toml"
    source.write_text("[a]\nx = 1\n", encoding="utf-8")
    cache = _cache_file(source)
    cache.parent.mkdir()
    cache.write_bytes(b"\x00not marshal")
    assert load_toml(source) == {"a": {"x": 1}}
    assert load_toml(source) == {"a": {"x": 1}}


def test_values_marshal_cannot_hold_are_parsed_every_time(tmp_path: Path, writing_bytecode: None) -> None:
    source = tmp_path / "dates.toml"
    source.write_text("[a]\nwhen = 2026-12-06\n", encoding="utf-8")
    assert str(load_toml(source)["a"]["when"]) == "2026-12-06"
    assert not _cache_file(source).exists()


@pytest.mark.parametrize("content", [b"[a\n", b"[a]\nx = \xff\n"])
def test_invalid_toml_and_unreadable_files_are_toml_errors(tmp_path: Path, content: bytes) -> None:
    source = tmp_path / "catalogue.toml"
    source.write_bytes(content)
    with pytest.raises(TomlError):
        load_toml(source)
    with pytest.raises(TomlError):
        load_toml(tmp_path / "missing.toml")
