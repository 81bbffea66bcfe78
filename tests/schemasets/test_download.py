"""The pinned download: files served over HTTP by their path at the commit, each checked against its SHA-256."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from broker.schemasets.configured import mapping_files, open_set
from broker.schemasets.download import DownloadError, download_set
from broker.schemasets.mapping import load_mapping
from tests.fixtures.third_party import DSVE_SPEC, require_third_party


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


def _mirror(root: Path, tamper: bool = False) -> None:
    """Lay the third-party copies out as the public repository has them at the pinned commit."""
    source = load_mapping(mapping_files()["dsve"]).source
    assert source is not None
    for source_file in source.files:
        target = root / source_file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DSVE_SPEC / source_file.name, target)
        if tamper and source_file.name == "dsve.xsd":
            target.write_bytes(target.read_bytes().replace(b'minOccurs="1"', b'minOccurs="0"', 1))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    require_third_party()
    root = tmp_path / "served"
    root.mkdir()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_download_checks_each_file_and_the_set_then_loads(server: tuple[str, Path], tmp_path: Path) -> None:
    base_url, root = server
    _mirror(root)
    target = tmp_path / "schemas"
    written = download_set(load_mapping(mapping_files()["dsve"]), target, base_url)
    assert sorted(path.name for path in written) == ["afpant-forutsetningsbrev.xsd", "dsve.xsd"]
    assert (target / "dsve.xsd").read_bytes() == (DSVE_SPEC / "dsve.xsd").read_bytes()
    assert len(open_set("dsve", target).mapping.types) == 16


def test_a_file_with_a_wrong_hash_is_refused_and_nothing_is_written(server: tuple[str, Path], tmp_path: Path) -> None:
    base_url, root = server
    _mirror(root, tamper=True)
    target = tmp_path / "schemas"
    with pytest.raises(DownloadError, match="not the pinned"):
        download_set(load_mapping(mapping_files()["dsve"]), target, base_url)
    assert not target.exists() or not any(target.iterdir())


def test_the_download_command(server: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from broker.cli import main

    base_url, root = server
    _mirror(root)
    assert main(["schemas", "download", "dsve", str(tmp_path / "d"), "--base-url", base_url]) == 0
    assert "SHA-256 checked" in capsys.readouterr().out
    assert main(["schemas", "download", "dsve", str(tmp_path / "e"), "--base-url", base_url + "/missing"]) == 1
    assert "cannot fetch" in capsys.readouterr().err
