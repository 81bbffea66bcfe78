"""Registration: all or nothing, running numbers and priority, repeated submissions, validation only."""

from __future__ import annotations

from dataclasses import replace

import pytest

from broker.domain.identifiers import is_valid_fodselsnummer, is_valid_orgnr
from broker.xml.pki import DEMO_ORGANISATIONS, DEMO_PERSONS
from participants.kartverket.controls import Control, Outcome
from participants.kartverket.model import Operation, RightKind, SignedDocument
from participants.kartverket.register import RegisterTransaction
from participants.kartverket.registration import process_package
from participants.kartverket.seed import DEMO_SALE, SEED_UNITS, seed
from participants.kartverket.seed_examples import EXAMPLE_UNITS
from tests.kartverket.conftest import demo_documents, demo_pant, package, signed_by


async def test_a_registered_package_transfers_mortgages_and_deletes(register):
    decision = await process_package(package(demo_documents()), register)

    assert decision.outcome is Outcome.TINGLYST
    assert [d.reference for d in decision.registered] == ["skjoete-1", "pant-1", "sletting-1"]
    numbers = [d.number for d in decision.registered]
    assert all(n.year == 2026 and n.embete == 200 for n in numbers)
    assert [n.number for n in numbers] == [numbers[0].number + i for i in range(3)]
    extract = await register.extract(DEMO_SALE.unit)
    assert {(s.holder, s.fraction) for s in extract.owners} == {(s.holder, s.fraction) for s in DEMO_SALE.buyers}
    mortgages = [r for r in extract.rights if r.kind is RightKind.PANT]
    assert [(m.holder, m.beloep) for m in mortgages] == [(DEMO_SALE.buyers_bank, DEMO_SALE.new_mortgage_beloep)]
    assert mortgages[0].ref == decision.registered[1].rights[0]
    assert DEMO_SALE.existing_mortgage not in {r.ref for r in extract.rights}
    assert [r.kind for r in extract.rights] == [RightKind.SERVITUTT, RightKind.PANT]


async def test_a_package_with_one_bad_document_registers_nothing(register):
    before = await register.extract(DEMO_SALE.unit)
    documents = demo_documents()
    documents[2] = replace(documents[2], signers=signed_by(DEMO_SALE.buyers_bank))

    decision = await process_package(package(documents), register)

    assert decision.outcome is Outcome.AVVIST
    assert [r.document_index for r in decision.results] == [3]
    assert await register.extract(DEMO_SALE.unit) == before


async def test_a_failure_while_writing_rolls_back_every_document(register, monkeypatch):
    before = await register.extract(DEMO_SALE.unit)
    count = await register.document_count()

    async def broken_delete(self, *args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(RegisterTransaction, "_delete_right", broken_delete)
    with pytest.raises(RuntimeError):
        await process_package(package(demo_documents()), register)

    assert await register.extract(DEMO_SALE.unit) == before
    assert await register.document_count() == count


async def test_two_packages_on_one_unit_get_increasing_numbers_and_priority(register):
    first = await process_package(package(demo_documents()), register)
    second_pant = replace(demo_pant("pant-2"), mortgagee=DEMO_SALE.sellers_bank, beloep=400_000)
    buyers = [share.holder for share in DEMO_SALE.buyers]
    second = await process_package(package([SignedDocument(second_pant, signed_by(*buyers))], "FJM-2"), register)

    assert second.outcome is Outcome.TINGLYST
    assert second.registered[0].number > first.registered[-1].number
    assert second.registered[0].registered_at > first.registered[-1].registered_at
    mortgages = [r for r in (await register.extract(DEMO_SALE.unit)).rights if r.kind is RightKind.PANT]
    assert [m.holder for m in mortgages] == [DEMO_SALE.buyers_bank, DEMO_SALE.sellers_bank]


async def test_a_repeated_submission_reference_is_refused(register):
    assert (await process_package(package(demo_documents()), register)).outcome is Outcome.TINGLYST
    buyers = [share.holder for share in DEMO_SALE.buyers]
    again = package([SignedDocument(demo_pant("pant-2"), signed_by(*buyers))])

    decision = await process_package(again, register)

    assert decision.outcome is Outcome.AVVIST
    assert [(r.control, r.document_index) for r in decision.results] == [(Control.INNSENDINGSREFERANSE_BRUKT, None)]
    assert decision.registered == ()


async def test_a_reference_is_the_submitters_own_and_used_at_receipt(register):
    """A refused package uses up its reference too; another submitter's same reference is no repeat."""
    documents = demo_documents()
    documents[0] = replace(documents[0], signers=signed_by(DEMO_SALE.sellers[0].holder))
    refused = await process_package(replace(package(documents), sender_orgnr="930000000"), register)
    assert refused.outcome is Outcome.AVVIST
    assert [r.control for r in refused.results] == [Control.HJEMMELSHAVER_HAR_IKKE_SIGNERT]

    again = await process_package(replace(package(demo_documents()), sender_orgnr="930000000"), register)
    assert [(r.control, r.document_index) for r in again.results] == [(Control.INNSENDINGSREFERANSE_BRUKT, None)]
    other = await process_package(replace(package(demo_documents()), sender_orgnr="910000004"), register)
    assert other.outcome is Outcome.TINGLYST


async def test_valider_checks_without_registering(register):
    before = await register.extract(DEMO_SALE.unit)
    count = await register.document_count()

    checked = await process_package(package(demo_documents(), operation=Operation.VALIDER), register)

    assert checked.outcome is None and checked.results == () and checked.registered == ()
    assert await register.extract(DEMO_SALE.unit) == before
    assert await register.document_count() == count
    registered = await process_package(package(demo_documents()), register)
    assert registered.outcome is Outcome.TINGLYST, "a validated reference is still free to register"


async def test_valider_reports_the_same_refusals(register):
    documents = demo_documents()
    documents[0] = replace(documents[0], signers=signed_by(DEMO_SALE.sellers[0].holder))
    checked = await process_package(package(documents, operation=Operation.VALIDER), register)
    assert checked.outcome is Outcome.AVVIST
    assert [r.control for r in checked.results] == [Control.HJEMMELSHAVER_HAR_IKKE_SIGNERT]


async def test_seeding_twice_keeps_the_register(register):
    await process_package(package(demo_documents()), register)
    count = await register.document_count()
    assert not await seed(register)
    assert await register.document_count() == count


def test_the_demo_persons_have_test_certificates_and_valid_numbers():
    people = {share.holder.ident for share in DEMO_SALE.sellers + DEMO_SALE.buyers}
    assert people <= {fnr for fnr, _ in DEMO_PERSONS}
    banks = {DEMO_SALE.sellers_bank.ident, DEMO_SALE.buyers_bank.ident, DEMO_SALE.megler.ident}
    assert banks | {DEMO_SALE.kartverket.ident} == {orgnr for orgnr, _ in DEMO_ORGANISATIONS}
    # Kartverket's example test persons are the exception: they exist in its test population register
    for spec in set(SEED_UNITS) - set(EXAMPLE_UNITS):
        for share in spec.owners:
            valid = is_valid_fodselsnummer if share.holder.kind == "person" else is_valid_orgnr
            assert valid(share.holder.ident), share.holder.masked
