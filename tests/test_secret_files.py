"""Secret files are owner-only from the start and made exactly once."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from broker.secret_files import load_or_create, write_private_file


def test_a_new_secret_file_is_owner_only_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "secret"
    first = load_or_create(path, lambda: b"first")
    assert first == b"first"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create(path, lambda: b"second") == b"first"


def test_processes_starting_together_agree_on_one_secret(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    with ThreadPoolExecutor(8) as pool:
        seen = set(pool.map(lambda n: load_or_create(path, lambda: f"secret {n}".encode()), range(32)))
    assert seen == {path.read_bytes()}


def test_an_existing_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    write_private_file(path, b"kept")
    with pytest.raises(FileExistsError):
        write_private_file(path, b"other")
    assert path.read_bytes() == b"kept"
