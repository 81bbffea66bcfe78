"""The whole demo sale between the simulators and Kartverket's handler, in the DSVE process's order."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from lxml import etree

from broker.xml.pki import TestPki
from participants.bank.simulator import DONE
from participants.kartverket.register import LandRegister
from participants.kartverket.seed import seed
from participants.messages.schemas import DOKUMENT_NS
from tests.participants.checks import assert_valid_and_signed
from tests.participants.world import World, build_world


@pytest.fixture
async def register(tmp_path) -> AsyncIterator[LandRegister]:
    land_register = await LandRegister.open(f"sqlite+aiosqlite:///{tmp_path / 'grunnbok.db'}")
    assert await seed(land_register)
    yield land_register
    await land_register.close()


async def whole_sale(pki: TestPki, register: LandRegister) -> World:
    """The megler opens the bidding round's financing check; the bank's intention follows the round."""
    world = build_world(pki, register)
    case = world.megler.cases[world.sale.reference]
    await world.deliver([world.megler.send_financing_check(case)])
    _, intention = world.buyers_bank.send_intention(world.sale.megler, world.sale.buyer_persons, (world.sale.unit,))
    await world.deliver([intention])
    return world


async def test_the_demo_sale_runs_from_bidding_round_to_registration_notices(
    test_pki: TestPki, register: LandRegister
) -> None:
    world = await whole_sale(test_pki, register)
    case = world.megler.cases[world.sale.reference]
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
        "tinglysingsforsendelse",  # the transfer and the buyers' mortgage
        "forsendelsesstatus",
        "forsendelsesstatus",
        "gjennomfoertTinglysing",  # to the buyers' bank; then the payoff
        "tinglysingsforsendelse",  # the sellers' bank's deletion, after the payoff
        "forsendelsesstatus",
        "forsendelsesstatus",
        "gjennomfoertTinglysing",  # to the sellers' bank
        "oppnaaddPrioritet",  # read from the register: first, now the old mortgage is gone
    ]
    assert case.status == "tinglyst"
    assert [c.status for c in world.buyers_bank.cases.values()] == [DONE]
    assert [c.status for c in world.sellers_bank.cases.values()] == [DONE]
    assert world.sellers_bank.book.loans == []


async def test_every_message_of_the_sale_validates_with_lxml_and_is_signed_by_its_sender(
    test_pki: TestPki, register: LandRegister
) -> None:
    world = await whole_sale(test_pki, register)
    checked = {assert_valid_and_signed(raw, world.verifier) for _, _, raw in world.delivered}
    assert len(checked) == 18


async def test_the_deed_packages_carry_signatures_of_sellers_buyers_and_the_sellers_bank(
    test_pki: TestPki, register: LandRegister
) -> None:
    """The deed and the mortgage go first; the deletion follows in a package of its own after the payoff."""
    world = await whole_sale(test_pki, register)
    deed, deletion = world.of_type("tinglysingsforsendelse")
    roots = {
        element_id: world.verifier.verify_enveloped(etree.fromstring(package)).root
        for package, element_ids in ((deed, ("eierskifte-1", "pant-1")), (deletion, ("sletting-1",)))
        for element_id in element_ids
    }
    signers = {
        element_id: {s.fodselsnummer or s.orgnr for s in world.verifier.verify_inner(root, element_id)}
        for element_id, root in roots.items()
    }
    assert signers == {
        "eierskifte-1": {p.fodselsnummer for p in world.sale.seller_persons},
        "sletting-1": {world.sale.sellers_bank.orgnr},
        "pant-1": {p.fodselsnummer for p in world.sale.buyer_persons},
    }


def _exc_c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True)


@pytest.mark.parametrize(
    ("carrier", "kind", "element_id"),
    [("pantedokument", "pant", "pant-1"), ("slettingserklaering", "sletting", "sletting-1")],
)
async def test_a_signed_document_verifies_where_it_was_signed_and_unchanged_in_the_deed_package(
    test_pki: TestPki, register: LandRegister, carrier: str, kind: str, element_id: str
) -> None:
    """The buyers' pant (and the sellers' bank's sletting) is one signed object: the megler copies it from the
    bank's message into the package, and the same signatures verify in both places."""
    world = await whole_sale(test_pki, register)
    [received] = world.of_type(carrier)
    deed, deletion = world.of_type("tinglysingsforsendelse")
    package = deed if kind == "pant" else deletion
    roots = [world.verifier.verify_enveloped(etree.fromstring(raw)).root for raw in (received, package)]

    signers = [{s.fodselsnummer or s.orgnr for s in world.verifier.verify_inner(r, element_id)} for r in roots]
    expected = (
        {p.fodselsnummer for p in world.sale.buyer_persons} if kind == "pant" else {world.sale.sellers_bank.orgnr}
    )
    assert signers == [expected, expected]

    documents = [root.find(f".//{{{DOKUMENT_NS}}}{kind}") for root in roots]
    assert _exc_c14n(documents[0]) == _exc_c14n(documents[1])
    signatures = [[_exc_c14n(s) for s in document.getnext()] for document in documents]
    assert signatures[0] == signatures[1] and len(signatures[0]) == len(expected)
