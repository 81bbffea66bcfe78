"""``dsve pki init``, ``dsve sign`` and ``dsve verify`` as a user runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.cli import main
from broker.xml.pki import DEMO_ORGANISATIONS, TestPki, load_test_pki
from tests.fixtures.pki import sample_document


def _sign(pki: TestPki, orgnr: str, source: Path, target: Path) -> int:
    files = pki.enterprise[orgnr]
    return main(["sign", "--key", str(files.key_path), "--cert", str(files.cert_path), str(source), "-o", str(target)])


def test_sign_then_verify(test_pki: TestPki, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source, target = tmp_path / "in.xml", tmp_path / "out.xml"
    source.write_bytes(sample_document())
    assert _sign(test_pki, "910000004", source, target) == 0
    assert main(["verify", "--ca", str(test_pki.ca_cert_path), str(target)]) == 0
    out = capsys.readouterr().out
    assert "signature valid" in out and "orgnr 910000004" in out and "NTRNO-910000004" in out


def test_verify_refuses_tampered(test_pki: TestPki, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source, target = tmp_path / "in.xml", tmp_path / "out.xml"
    source.write_bytes(sample_document())
    assert _sign(test_pki, "930000000", source, target) == 0
    target.write_bytes(target.read_bytes().replace(b"3900000", b"3900001"))
    assert main(["verify", "--ca", str(test_pki.ca_cert_path), str(target)]) == 1
    assert "DSVE-3002" in capsys.readouterr().out


def test_verify_with_another_ca_is_untrusted(test_pki: TestPki, tmp_path: Path, capsys) -> None:
    other = load_test_pki(main_pki_init(tmp_path / "other"))
    source, target = tmp_path / "in.xml", tmp_path / "out.xml"
    source.write_bytes(sample_document())
    assert _sign(test_pki, "910000004", source, target) == 0
    assert main(["verify", "--ca", str(other.ca_cert_path), str(target)]) == 1
    assert "certificate-untrusted" in capsys.readouterr().out
    assert main(["verify", "--ca", str(other.ca_cert_path), "--ca", str(test_pki.ca_cert_path), str(target)]) == 0


def main_pki_init(directory: Path, *extra: str) -> Path:
    assert main(["pki", "init", str(directory), "--org", "910000004:Nordlys Sparebank", *extra]) == 0
    return directory


def test_unreadable_input_exits_2(test_pki: TestPki, tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<pantedokument><unclosed></pantedokument>")
    assert main(["verify", "--ca", str(test_pki.ca_cert_path), str(broken)]) == 2
    assert main(["verify", "--ca", str(test_pki.ca_cert_path), str(tmp_path / "missing.xml")]) == 2
    files = test_pki.enterprise["910000004"]
    assert main(["sign", "--key", str(files.key_path), "--cert", str(files.cert_path), str(broken)]) == 2


def test_doctype_is_not_signed(test_pki: TestPki, tmp_path: Path) -> None:
    evil = tmp_path / "evil.xml"
    evil.write_bytes(b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>')
    files = test_pki.enterprise["910000004"]
    assert main(["sign", "--key", str(files.key_path), "--cert", str(files.cert_path), str(evil)]) == 2


def test_pki_init_defaults_to_demo_identities(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pki", "init", str(tmp_path / "pki"), "--key-type", "ec"]) == 0
    pki = load_test_pki(tmp_path / "pki")
    assert set(pki.enterprise) == {orgnr for orgnr, _ in DEMO_ORGANISATIONS}
    assert len(pki.persons) == 4
    out = capsys.readouterr().out
    assert all(fnr not in out for fnr in pki.persons)


def test_pki_init_with_chosen_identities(tmp_path: Path) -> None:
    pki = load_test_pki(main_pki_init(tmp_path / "pki", "--person", "22817510020:Per Hansen"))
    assert list(pki.enterprise) == ["910000004"]
    assert list(pki.persons) == ["22817510020"]


def test_pki_init_refuses_bad_check_digit(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["pki", "init", str(tmp_path), "--org", "910000005:Feil"])
    assert exited.value.code == 2
