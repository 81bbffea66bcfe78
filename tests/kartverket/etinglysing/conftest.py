"""An e-tinglysing service over a seeded land register (SQLite file per test), Kartverket's schema and
example submissions from the third-party folder beside the repository, and readers for the statuses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from participants.kartverket.etinglysing.schema import NAMESPACE
from participants.kartverket.etinglysing.service import ETinglysing
from participants.kartverket.register import LandRegister
from participants.kartverket.seed import seed
from tests.kartverket.conftest import SteppingClock

THIRD_PARTY = Path(__file__).resolve().parents[3] / ".." / "shared" / "third_party"
SCHEMA_DIR = THIRD_PARTY / "kartverket-innsending"
EXAMPLES = THIRD_PARTY / "kartverket-eksempelfiler"
NS = {"i": NAMESPACE}


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


@dataclass(frozen=True)
class Finding:
    kodeverdi: str
    utfall: str
    dokumentindeks: int | None
    rettsstiftelsesindeks: int | None
    begrunnelser: tuple[str, ...]


@dataclass(frozen=True)
class Status:
    """The parts of a forsendelsesstatus the tests read."""

    root: etree._Element

    def text(self, path: str) -> str | None:
        return self.root.findtext(path, namespaces=NS)

    @property
    def saksstatus(self) -> str | None:
        return self.text("i:saksstatus")

    @property
    def utfall(self) -> str | None:
        return self.text("i:behandlingsutfall")

    @property
    def innsending_id(self) -> str | None:
        return self.text("i:innsendingId")

    @property
    def findings(self) -> list[Finding]:
        found = []
        for k in self.root.iterfind(".//i:kontrollresultat", NS):
            d, r = k.findtext("i:dokumentindeks", namespaces=NS), k.findtext("i:rettsstiftelsesindeks", namespaces=NS)
            found.append(
                Finding(
                    k.findtext("i:kodeverdi", namespaces=NS) or "",
                    k.findtext("i:utfall", namespaces=NS) or "",
                    int(d) if d else None,
                    int(r) if r else None,
                    tuple(b.findtext("i:tekst", namespaces=NS) or "" for b in k.iterfind(".//i:begrunnelse", NS)),
                )
            )
        return found

    @property
    def codes(self) -> set[str]:
        return {f.kodeverdi for f in self.findings}

    @property
    def documents(self) -> list[tuple[str, int, int, str, list[tuple[str, int]]]]:
        """(dokumentreferanse, år, nummer, embete, [(rettsstiftelsesreferanse, nummer)]) per registered document."""
        out = []
        for d in self.root.iterfind("i:tinglysingsinformasjon/i:dokumentinformasjon/i:dokumentinformasjon", NS):
            rights = [
                (
                    r.findtext("i:rettsstiftelsesreferanse", namespaces=NS) or "",
                    int(r.findtext("i:rettsstiftelsesnummer", namespaces=NS) or 0),
                )
                for r in d.iterfind(".//i:rettsstiftelsesinformasjon/i:rettsstiftelsesinformasjon", NS)
            ]
            out.append(
                (
                    d.findtext("i:dokumentreferanse", namespaces=NS) or "",
                    int(d.findtext("i:dokumentaar", namespaces=NS) or 0),
                    int(d.findtext("i:dokumentnummer", namespaces=NS) or 0),
                    d.findtext("i:embetenummer", namespaces=NS) or "",
                    rights,
                )
            )
        return out

    @property
    def extracts(self) -> list[etree._Element]:
        return self.root.findall(".//i:usignertGrunnboksutskrift", NS)


def statuses(documents: list[bytes]) -> list[Status]:
    return [Status(etree.fromstring(d)) for d in documents]


async def open_service(tmp_path: Path, first_innsending_id: int = 1010001) -> tuple[LandRegister, ETinglysing]:
    register = await LandRegister.open(f"sqlite+aiosqlite:///{tmp_path / 'grunnbok.db'}", clock=SteppingClock())
    assert await seed(register)
    service = ETinglysing(register, SCHEMA_DIR, first_innsending_id=first_innsending_id)
    await service.prepare()
    return register, service


@pytest.fixture
async def kv(tmp_path: Path) -> AsyncIterator[ETinglysing]:
    register, service = await open_service(tmp_path)
    yield service
    await register.close()
