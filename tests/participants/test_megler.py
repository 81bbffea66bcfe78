"""The megler's routing of incoming mortgage deeds and intentions to its cases, and its other messages."""

from __future__ import annotations

from dataclasses import replace

from broker.xml.pki import TestPki
from participants.messages import bank_messages
from participants.messages.envelope import open_message, seal
from participants.messages.header import Header
from participants.messages.megler_messages import kjoepekontraktendring
from participants.messages.model import Matrikkelenhet, Pant, Person, Sletting
from tests.participants.checks import assert_valid_and_signed
from tests.participants.world import World, build_world

ELSEWHERE = Matrikkelenhet("4601", 12, 55)


def _deed(world: World, units=None, mortgagors=None, signers=None) -> bytes:
    sale = world.sale
    mortgagors = tuple(mortgagors or sale.buyer_persons)
    pant = Pant("pant-1", sale.buyers_bank, mortgagors, sale.new_mortgage_amount, tuple(units or (sale.unit,)))
    credentials = [world.pki.credential(p.fodselsnummer) for p in (signers or mortgagors)]
    header = Header(sale.buyers_bank, sale.megler, "NS-2026-00042", sale.reference)
    return bank_messages.pantedokument(header, world.pki.credential(sale.buyers_bank.orgnr), pant, credentials)


async def _receipt(world: World, deed: bytes) -> tuple[str, str, str | None]:
    replies = await world.megler.handle_raw(deed)
    receipt = open_message(replies[0], world.verifier)
    assert receipt.message_type == "pantedokumentKvittering"
    assert receipt.header.recipient_reference == "NS-2026-00042"
    return receipt.body["status"], receipt.body["beskrivelse"], receipt.header.sender_reference


async def test_a_deed_for_a_unit_without_a_case_gets_ukjent_registerenhet(test_pki: TestPki) -> None:
    world = build_world(test_pki, auto_proceed=False)
    status, description, _ = await _receipt(world, _deed(world, units=(ELSEWHERE,)))
    assert status == "UkjentRegisterenhet"
    assert "4601-12/55" in description
    assert world.megler.cases[world.sale.reference].mortgage is None


async def test_a_deed_whose_mortgagors_are_not_the_buyers_gets_debitor_mismatch(test_pki: TestPki) -> None:
    world = build_world(test_pki, auto_proceed=False)
    sellers = world.sale.seller_persons
    status, _, reference = await _receipt(world, _deed(world, mortgagors=sellers))
    assert status == "DebitorMismatch"
    assert reference == world.sale.reference


async def test_a_deed_for_the_case_and_its_buyers_is_routed_and_kept_for_the_package(test_pki: TestPki) -> None:
    world = build_world(test_pki, auto_proceed=False)
    status, _, reference = await _receipt(world, _deed(world))
    assert (status, reference) == ("RutetSuksessfullt", world.sale.reference)
    assert world.megler.cases[world.sale.reference].mortgage is not None


async def test_a_deed_missing_a_mortgagors_signature_is_refused(test_pki: TestPki) -> None:
    world = build_world(test_pki, auto_proceed=False)
    status, description, _ = await _receipt(world, _deed(world, signers=world.sale.buyer_persons[:1]))
    assert status == "Avvist"
    assert world.sale.buyer_persons[1].name in description


async def test_intentions_are_answered_by_unit_buyers_and_method(test_pki: TestPki) -> None:
    world = build_world(test_pki, auto_proceed=False)
    sale, bank = world.sale, world.buyers_bank

    async def answer(buyers: tuple[Person, ...], units, method: str = "elektronisk") -> str:
        _, intention = bank.send_intention(sale.megler, buyers, units, method=method)
        [reply] = await world.megler.handle_raw(intention)
        assert_valid_and_signed(reply, world.verifier)
        return open_message(reply).body["status"]

    assert await answer(sale.buyer_persons, (ELSEWHERE,)) == "UkjentRegisterenhet"
    assert await answer(sale.seller_persons, (sale.unit,)) == "UgyldigKjoeper"
    assert await answer(sale.buyer_persons, (sale.unit,), "papir") == "UavklartTinglysingsmetode"
    assert await answer(sale.buyer_persons, (sale.unit,)) == "RutetSuksessfullt"


async def test_cancellation_contract_change_and_method_change_validate_and_are_signed(test_pki: TestPki) -> None:
    world = build_world(test_pki, auto_proceed=False)
    megler, sale = world.megler, world.sale
    case = megler.cases[sale.reference]
    changed = replace(megler.contract(case), price=sale.price + 50_000)
    header = Header(sale.megler, sale.buyers_bank, sale.reference)
    messages = [
        megler.send_cancellation(case, "Kjøper har trukket seg."),
        kjoepekontraktendring(header, megler.credential, changed, "Kjøpesummen er endret."),
        bank_messages.intensjonsendring(
            Header(sale.buyers_bank, sale.megler, "NS-1", sale.reference),
            world.buyers_bank.credential,
            "papir",
            "Kunden ønsker papirtinglysing.",
        ),
    ]
    assert [assert_valid_and_signed(m, world.verifier) for m in messages] == [
        "avbruttSamhandling",
        "kjoepekontraktendring",
        "intensjonsendring",
    ]
    await world.buyers_bank.handle_raw(messages[1])
    [bank_case] = world.buyers_bank.cases.values()
    assert bank_case.megler_reference == sale.reference
    assert bank_case.contract is not None and bank_case.contract.price == sale.price + 50_000


async def test_a_deletion_consent_not_signed_by_the_mortgagee_bank_is_not_used(test_pki: TestPki) -> None:
    world = build_world(test_pki, auto_proceed=False)
    sale = world.sale
    case = world.megler.cases[sale.reference]
    assert sale.existing_mortgage is not None
    sletting = Sletting("sletting-1", sale.unit, sale.existing_mortgage, sale.sellers_bank)
    body = {
        "sletting": sletting.to_data(),
        "signaturer": {},
        "innfrielsesbeloep": 2_000_000,
        "innbetaling": bank_messages.Payment("92000047114", kid=None).to_data(),
    }
    header = Header(sale.sellers_bank, sale.megler, "FKB-2026-00007", sale.reference)
    wrong_signer = world.pki.credential(sale.buyers_bank.orgnr)  # another bank signs the sellers' bank's consent
    declaration = seal(
        "slettingserklaering",
        header,
        body,
        world.pki.credential(sale.sellers_bank.orgnr),
        inner_signers={"sletting": [wrong_signer]},
    )
    assert await world.megler.handle_raw(declaration) == []
    assert case.deletions == []
    assert "slettingserklæring avvist" in world.megler.timeline.events[-1].text
