"""A demo deployment's identities on disk: the test PKI and the participants seed file the broker loads.

`dsve sim init DIR` (compose's first start) and `dsve demo` both use this, so the broker, the simulators and
the land register always agree on who is who.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from broker.domain.roles import Role
from broker.xml.pki import DEMO_ORGANISATIONS, DEMO_PERSONS, TestPki, init_test_pki, load_test_pki

PARTICIPANTS_FILE = "participants.toml"

BUYERS_BANK = "910000004"
SELLERS_BANK = "920000002"
MEGLER = "930000000"
KARTVERKET = "971040238"

DEMO_ROLES: dict[str, Role] = {
    BUYERS_BANK: Role.BANK,
    SELLERS_BANK: Role.BANK,
    MEGLER: Role.MEGLER,
    KARTVERKET: Role.KARTVERKET,
}


@dataclass(frozen=True, slots=True)
class Deployment:
    pki: TestPki
    participants_file: Path


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_participants_file(pki: TestPki) -> Path:
    """The seed file naming each demo organisation's role and certificate (paths relative to the file)."""
    names = dict(DEMO_ORGANISATIONS)
    lines = ["# Demo participants: capabilities default to everything the catalogue allows their role.", ""]
    for orgnr, role in DEMO_ROLES.items():
        cert = pki.enterprise[orgnr].cert_path.relative_to(pki.directory)
        lines += [
            "[[participant]]",
            f"orgnr = {_toml_string(orgnr)}",
            f"role = {_toml_string(role.value)}",
            f"name = {_toml_string(names[orgnr])}",
            f"cert = {_toml_string(cert.as_posix())}",
            "",
        ]
    path = pki.directory / PARTICIPANTS_FILE
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def init_deployment(directory: Path) -> Deployment:
    """A fresh demo PKI and participants file in ``directory``."""
    pki = init_test_pki(directory, DEMO_ORGANISATIONS, DEMO_PERSONS)
    return Deployment(pki, write_participants_file(pki))


def open_deployment(directory: Path) -> Deployment:
    """A deployment written earlier by ``init_deployment``."""
    return Deployment(load_test_pki(directory), directory / PARTICIPANTS_FILE)
