"""The whole demo sale between the simulators and Kartverket's handler, in DESIGN §9's order."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from broker.xml.pki import TestPki
from participants.bank.simulator import DONE
from participants.kartverket.register import LandRegister
from participants.kartverket.seed import seed
from tests.participants.world import build_world


@pytest.fixture
async def register(tmp_path) -> AsyncIterator[LandRegister]:
    land_register = await LandRegister.open(f"sqlite+aiosqlite:///{tmp_path / 'grunnbok.db'}")
    assert await seed(land_register)
    yield land_register
    await land_register.close()


async def test_the_demo_sale_runs_from_bidding_round_to_registration_notices(
    test_pki: TestPki, register: LandRegister
) -> None:
    world = build_world(test_pki, register)
    case = world.megler.cases[world.sale.reference]
    await world.deliver([world.megler.send_financing_check(case)])
    _, intention = world.buyers_bank.send_intention(world.sale.megler, world.sale.buyer_persons, (world.sale.unit,))
    await world.deliver([intention])

    for line in world.megler.timeline.events:
        print(line)
    assert world.types() == [
        "finansieringsforespoersel",
        "finansieringssvar",
        "finansieringAvsluttet",
        "restgjeldsforespoersel",
        "restgjeldssvar",
        "intensjonFraBank",
        "intensjonssvarFraMegler",
        "kjoepekontraktforespoersel",
        "kjoepekontraktsvar",
        "pantedokument",
        "pantedokumentKvittering",
        "innfrielsessaldoforespoersel",
        "innfrielsessaldosvar",
        "slettingserklaering",
        "tinglysingsforsendelse",
        "forsendelsesstatus",
        "forsendelsesstatus",
        "gjennomfoertTinglysing",
        "oppnaaddPrioritet",
        "gjennomfoertTinglysing",
    ]
    assert case.status == "tinglyst"
    assert [c.status for c in world.buyers_bank.cases.values()] == [DONE]
    assert [c.status for c in world.sellers_bank.cases.values()] == [DONE]
    assert world.sellers_bank.book.loans == []
