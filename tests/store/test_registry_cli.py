"""The participant registry and its commands, and the ``dsve db`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from broker.cli import main
from broker.domain.roles import Role
from broker.registry import (
    RegistryError,
    build_participant,
    default_capabilities,
    load_participants_file,
    read_catalogue_entries,
)
from broker.store.migrate import head_revision
from broker.xml.pki import TestPki
from tests.store.conftest import BANK, KARTVERKET, MEGLER, OTHER_BANK

ENTRIES = [
    ("intensjonFraBank", ["bank"], ["megler"]),
    ("intensjonsendring", ["bank", "megler"], ["bank", "megler"]),
    ("tinglysingsforsendelse", ["megler"], ["kartverket"]),
]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def listed(capsys: pytest.CaptureFixture[str], url: str) -> dict[str, dict]:
    code, out, _ = run(capsys, "participants", "list", "--format", "json", "--database-url", url)
    assert code == 0
    return {entry["orgnr"]: entry for entry in json.loads(out)}


def test_default_capabilities_follow_the_catalogue_roles() -> None:
    assert default_capabilities(Role.BANK, ENTRIES) == (
        frozenset({"intensjonFraBank", "intensjonsendring"}),
        frozenset({"intensjonsendring"}),
    )
    assert default_capabilities("kartverket", ENTRIES) == (frozenset(), frozenset({"tinglysingsforsendelse"}))
    real = read_catalogue_entries()
    megler_sends, _ = default_capabilities(Role.MEGLER, real)
    assert "tinglysingsforsendelse" in megler_sends and "intensjonFraBank" not in megler_sends


def test_build_participant_checks_orgnr_role_certificate_and_types(test_pki: TestPki) -> None:
    entries = read_catalogue_entries()
    pem = test_pki.enterprise[BANK].cert_path.read_text()
    base = {"orgnr": BANK, "role": "bank", "name": "Nordlys Sparebank", "certificate_pem": pem, "entries": entries}
    assert build_participant(**base).sends == default_capabilities(Role.BANK, entries)[0]
    for changes, fault in (
        ({"orgnr": "910000005"}, "not a valid organisation number"),
        ({"role": "notary"}, "unknown role"),
        ({"certificate_pem": test_pki.enterprise[OTHER_BANK].cert_path.read_text()}, f"names orgnr {OTHER_BANK}"),
        ({"certificate_pem": "not a certificate"}, "not a PEM"),
        ({"sends": ["brevdue"]}, "unknown message types"),
        ({"name": "  "}, "needs a name"),
    ):
        with pytest.raises(RegistryError, match=fault):
            build_participant(**{**base, **changes})


def test_participants_add_list_disable_enable(test_pki: TestPki, database_url: str, capsys) -> None:
    bank_cert = str(test_pki.enterprise[BANK].cert_path)
    code, out, _ = run(
        capsys, "participants", "add", "--orgnr", BANK, "--role", "bank", "--name", "Nordlys Sparebank",
        "--cert", bank_cert, "--database-url", database_url,
    )  # fmt: skip
    assert code == 0 and BANK in out
    code, _, _ = run(
        capsys, "participants", "add", "--orgnr", MEGLER, "--role", "megler", "--name", "Fjordmegleren Oppgjør AS",
        "--cert", str(test_pki.enterprise[MEGLER].cert_path), "--sends", "intensjonssvarFraMegler",
        "--receives", "intensjonFraBank", "pantedokument", "--database-url", database_url,
    )  # fmt: skip
    assert code == 0
    registered = listed(capsys, database_url)
    assert set(registered) == {BANK, MEGLER}
    assert "intensjonFraBank" in registered[BANK]["sends"] and registered[BANK]["active"] is True
    assert registered[MEGLER]["sends"] == ["intensjonssvarFraMegler"]
    assert registered[MEGLER]["receives"] == ["intensjonFraBank", "pantedokument"]

    code, out, _ = run(capsys, "participants", "list", "--database-url", database_url)
    assert code == 0 and out.splitlines()[0].split()[:3] == ["ORGNR", "ROLE", "ACTIVE"]
    assert "Fjordmegleren Oppgjør AS" in out

    assert run(capsys, "participants", "disable", BANK, "--database-url", database_url)[0] == 0
    assert listed(capsys, database_url)[BANK]["active"] is False
    assert run(capsys, "participants", "enable", BANK, "--database-url", database_url)[0] == 0
    assert listed(capsys, database_url)[BANK]["active"] is True
    code, _, err = run(capsys, "participants", "disable", OTHER_BANK, "--database-url", database_url)
    assert code == 1 and "not registered" in err


def test_participants_add_refuses_a_certificate_of_another_orgnr(test_pki: TestPki, tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'broker.db'}"
    code, _, err = run(
        capsys, "participants", "add", "--orgnr", BANK, "--role", "bank", "--name", "Nordlys Sparebank",
        "--cert", str(test_pki.enterprise[OTHER_BANK].cert_path), "--database-url", url,
    )  # fmt: skip
    assert code == 2 and f"names orgnr {OTHER_BANK}" in err
    assert listed(capsys, url) == {}


def write_seed(directory: Path, test_pki: TestPki, extra: str = "") -> Path:
    certs = directory / "certs"
    certs.mkdir(exist_ok=True)
    blocks = []
    for orgnr, role, name in (
        (BANK, "bank", "Nordlys Sparebank"),
        (OTHER_BANK, "bank", "Fjellkysten Bank ASA"),
        (MEGLER, "megler", "Fjordmegleren Oppgjør AS"),
        (KARTVERKET, "kartverket", "Kartverket"),
    ):
        (certs / f"{orgnr}.pem").write_text(test_pki.enterprise[orgnr].cert_path.read_text())
        blocks.append(
            f'[[participant]]\norgnr = "{orgnr}"\nrole = "{role}"\nname = "{name}"\ncert = "certs/{orgnr}.pem"\n'
        )
    seed = directory / "participants.toml"
    seed.write_text("\n".join(blocks) + extra, encoding="utf-8")
    return seed


def test_load_participants_file_is_checked(test_pki: TestPki, tmp_path: Path) -> None:
    seed = write_seed(tmp_path, test_pki)
    participants = load_participants_file(seed)
    assert [p.orgnr for p in participants] == [BANK, OTHER_BANK, MEGLER, KARTVERKET]
    kartverket = participants[-1]
    assert kartverket.role is Role.KARTVERKET and "tinglysingsforsendelse" in kartverket.receives

    duplicate = write_seed(
        tmp_path,
        test_pki,
        f'\n[[participant]]\norgnr = "{BANK}"\nrole = "bank"\nname = "X"\ncert = "certs/{BANK}.pem"\n',
    )
    with pytest.raises(RegistryError, match="more than once"):
        load_participants_file(duplicate)
    wrong_cert = write_seed(
        tmp_path, test_pki, f'\n[[participant]]\norgnr = "{BANK}"\nrole = "bank"\nname = "X"\ncert = "certs/none.pem"\n'
    )
    with pytest.raises(RegistryError, match="participant 5: cannot read certificate"):
        load_participants_file(wrong_cert)


def test_participants_load_is_idempotent(test_pki: TestPki, database_url: str, tmp_path: Path, capsys) -> None:
    seed = write_seed(tmp_path, test_pki, "")
    text = seed.read_text().replace(
        f'cert = "certs/{OTHER_BANK}.pem"\n',
        f'cert = "certs/{OTHER_BANK}.pem"\nactive = false\nsends = ["pantedokument"]\n',
    )
    seed.write_text(text)
    for _ in range(2):
        code, out, _ = run(capsys, "participants", "load", str(seed), "--database-url", database_url)
        assert code == 0 and "registered 4 participants" in out
    registered = listed(capsys, database_url)
    assert set(registered) == {BANK, OTHER_BANK, MEGLER, KARTVERKET}
    assert registered[OTHER_BANK]["active"] is False and registered[OTHER_BANK]["sends"] == ["pantedokument"]

    (tmp_path / "broken.toml").write_text('[[participant]]\norgnr = "123"\n')
    code, _, err = run(capsys, "participants", "load", str(tmp_path / "broken.toml"), "--database-url", database_url)
    assert code == 2 and "missing role, name, cert" in err


def test_db_commands_upgrade_current_downgrade(database_url: str, capsys) -> None:
    code, out, _ = run(capsys, "db", "current", "--database-url", database_url)
    assert code == 1 and "base" in out
    code, out, _ = run(capsys, "db", "upgrade", "--database-url", database_url)
    assert code == 0 and f"at revision {head_revision()}" in out
    code, out, _ = run(capsys, "db", "current", "--database-url", database_url)
    assert code == 0 and "up to date" in out
    code, out, _ = run(capsys, "db", "downgrade", "base", "--database-url", database_url)
    assert code == 0 and "base" in out


def test_shown_urls_hide_the_password(capsys) -> None:
    code, _, err = run(capsys, "db", "current", "--database-url", "postgresql://broker:s3cret@127.0.0.1:1/none")
    assert code == 1 and "s3cret" not in err and "***" in err


def test_add_client_registers_a_key_for_a_participant(
    capsys: pytest.CaptureFixture[str], database_url: str, test_pki: TestPki, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = tmp_path / "client.pem"
    pem.write_bytes(key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    args = ["--client-id", "system-1", "--kid", "k1", "--public-key", str(pem), "--database-url", database_url]
    code, _, err = run(capsys, "participants", "add-client", "--orgnr", BANK, *args)
    assert code == 1 and "not a registered participant" in err
    code, _, _ = run(
        capsys, "participants", "add", "--orgnr", BANK, "--role", "bank", "--name", "Nordlys Sparebank",
        "--cert", str(test_pki.enterprise[BANK].cert_path), "--database-url", database_url,
    )  # fmt: skip
    assert code == 0
    code, out, _ = run(capsys, "participants", "add-client", "--orgnr", BANK, *args)
    assert code == 0 and "system-1" in out
    not_a_key = tmp_path / "not-a-key.pem"
    not_a_key.write_text("hello")
    code, _, _ = run(capsys, "participants", "add-client", "--orgnr", BANK, *args[:4], "--public-key", str(not_a_key))
    assert code == 2
