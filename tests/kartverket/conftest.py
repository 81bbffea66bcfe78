"""A seeded land register on an SQLite file per test, and builders for the demo sale's documents."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from participants.kartverket.model import (
    Eierskifte,
    Operation,
    Package,
    Pant,
    SignedDocument,
    Signers,
    Sletting,
)
from participants.kartverket.register import LandRegister
from participants.kartverket.seed import DEMO_SALE, seed


class SteppingClock:
    """A clock that advances one minute per reading, so registration times differ and are predictable."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 14, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
async def register(tmp_path) -> AsyncIterator[LandRegister]:
    land_register = await LandRegister.open(f"sqlite+aiosqlite:///{tmp_path / 'grunnbok.db'}", clock=SteppingClock())
    assert await seed(land_register)
    yield land_register
    await land_register.close()


def signed_by(*parties) -> Signers:
    persons = frozenset(p.ident for p in parties if p.kind == "person")
    organisations = frozenset(p.ident for p in parties if p.kind == "organisasjon")
    return Signers(persons, organisations)


def demo_eierskifte(reference: str = "skjoete-1") -> Eierskifte:
    return Eierskifte(reference, DEMO_SALE.unit, DEMO_SALE.sellers, DEMO_SALE.buyers, DEMO_SALE.kjoepesum)


def demo_pant(reference: str = "pant-1") -> Pant:
    mortgagors = tuple(share.holder for share in DEMO_SALE.buyers)
    return Pant(reference, (DEMO_SALE.unit,), mortgagors, DEMO_SALE.buyers_bank, DEMO_SALE.new_mortgage_beloep)


def demo_sletting(reference: str = "sletting-1") -> Sletting:
    return Sletting(reference, DEMO_SALE.unit, DEMO_SALE.existing_mortgage, DEMO_SALE.sellers_bank)


def demo_documents() -> list[SignedDocument]:
    """The demo sale's three documents, each signed by exactly those who must sign it."""
    sellers = [share.holder for share in DEMO_SALE.sellers]
    buyers = [share.holder for share in DEMO_SALE.buyers]
    return [
        SignedDocument(demo_eierskifte(), signed_by(*sellers)),
        SignedDocument(demo_pant(), signed_by(*buyers)),
        SignedDocument(demo_sletting(), signed_by(DEMO_SALE.sellers_bank)),
    ]


def package(
    documents: list[SignedDocument], reference: str = "FJM-1", operation: Operation = Operation.TINGLYS
) -> Package:
    return Package(reference, operation, tuple(documents), DEMO_SALE.megler.ident)
