"""One test per registration rule: each refusal names its control, and nothing is registered."""

from __future__ import annotations

from dataclasses import replace

from participants.kartverket.controls import Control, Outcome
from participants.kartverket.model import (
    DocumentNumber,
    Matrikkelenhet,
    Party,
    RightRef,
    Samtykke,
    Share,
    SignedDocument,
)
from participants.kartverket.registration import process_package
from participants.kartverket.seed import (
    BOLIGSTIFTELSEN,
    DEMO_SALE,
    KARI_NORDMANN,
    OLA_NORDMANN,
    RESTRICTED_UNIT,
    RESTRICTION,
)
from tests.kartverket.conftest import demo_documents, demo_eierskifte, package, signed_by

STRANGER = Party.person("01818510078", "Nora Bakken")
HILDE_STRAND = Party.person("27915510189", "Hilde Strand")


async def _refused(register, documents, expected: Control, index: int | None, outcome=Outcome.AVVIST):
    before = await register.document_count()
    decision = await process_package(package(documents), register)
    assert decision.outcome is outcome
    assert (expected, index) in {(r.control, r.document_index) for r in decision.results}
    assert decision.registered == ()
    assert await register.document_count() == before
    return decision


async def test_the_demo_package_passes_every_control(register):
    decision = await process_package(package(demo_documents()), register)
    assert decision.results == ()
    assert decision.outcome is Outcome.TINGLYST


async def test_an_invalid_signature_rejects_the_package(register):
    documents = demo_documents()
    documents[1] = replace(documents[1], signature_problem="digest mismatch")
    await _refused(register, documents, Control.SIGNATUR_UGYLDIG, 2, Outcome.AVVIST)


async def test_an_unsigned_document_rejects_the_package(register):
    documents = demo_documents()
    documents[2] = replace(documents[2], signers=signed_by())
    await _refused(register, documents, Control.SIGNATUR_MANGLER, 3, Outcome.AVVIST)


async def test_an_unknown_unit_is_refused(register):
    documents = demo_documents()
    documents[0] = replace(documents[0], document=replace(demo_eierskifte(), unit=Matrikkelenhet("0301", 999, 1)))
    await _refused(register, documents, Control.REGISTERENHET_UKJENT, 1)


async def test_a_transfer_must_be_signed_by_every_owner(register):
    documents = demo_documents()
    documents[0] = replace(documents[0], signers=signed_by(DEMO_SALE.sellers[0].holder))
    decision = await _refused(register, documents, Control.HJEMMELSHAVER_HAR_IKKE_SIGNERT, 1)
    assert DEMO_SALE.sellers[1].holder.ident not in " ".join(r.text for r in decision.results)


async def test_a_seller_who_owns_nothing_is_refused(register):
    sellers = (DEMO_SALE.sellers[0], Share(STRANGER, 1, 2))
    documents = demo_documents()
    documents[0] = SignedDocument(
        replace(demo_eierskifte(), sellers=sellers), signed_by(*(s.holder for s in DEMO_SALE.sellers), STRANGER)
    )
    await _refused(register, documents, Control.SELGER_ER_IKKE_HJEMMELSHAVER, 1)


async def test_sold_shares_must_equal_the_current_shares(register):
    sellers = (Share(DEMO_SALE.sellers[0].holder, 1, 3), Share(DEMO_SALE.sellers[1].holder, 2, 3))
    documents = demo_documents()
    documents[0] = replace(documents[0], document=replace(demo_eierskifte(), sellers=sellers))
    await _refused(register, documents, Control.ANDELER_STEMMER_IKKE, 1)


async def test_the_buyers_shares_must_add_up_to_the_sold_shares(register):
    buyers = (Share(KARI_NORDMANN, 1, 2), Share(OLA_NORDMANN, 1, 3))
    documents = demo_documents()
    documents[0] = replace(documents[0], document=replace(demo_eierskifte(), buyers=buyers))
    await _refused(register, documents, Control.ERVERVERANDELER_STEMMER_IKKE, 1)


async def test_a_mortgage_must_be_signed_by_every_mortgagor(register):
    documents = demo_documents()
    documents[1] = replace(documents[1], signers=signed_by(KARI_NORDMANN))
    await _refused(register, documents, Control.PANTSETTER_HAR_IKKE_SIGNERT, 2)


async def test_mortgagors_must_own_the_unit_after_the_transfers(register):
    # Without the transfer first, the buyers do not own the unit when their mortgage is judged.
    documents = demo_documents()
    await _refused(register, [documents[1], documents[0]], Control.PANTSETTER_ER_IKKE_HJEMMELSHAVER, 1)


async def test_a_deletion_must_name_an_active_right(register):
    documents = demo_documents()
    missing = RightRef(DocumentNumber(2015, 1, 200), 1)
    documents[2] = replace(documents[2], document=replace(documents[2].document, right=missing))
    await _refused(register, documents, Control.RETTIGHET_FINNES_IKKE, 3)


async def test_a_deletion_must_be_signed_by_the_right_holder(register):
    documents = demo_documents()
    documents[2] = replace(documents[2], signers=signed_by(DEMO_SALE.buyers_bank))
    await _refused(register, documents, Control.RETTIGHETSHAVER_HAR_IKKE_SIGNERT, 3)


async def test_document_references_are_unique_in_a_package(register):
    documents = demo_documents()
    documents[2] = replace(documents[2], document=replace(documents[2].document, reference="pant-1"))
    await _refused(register, documents, Control.DOKUMENTREFERANSE_DUPLIKAT, 3, Outcome.AVVIST)


def _restricted_sale() -> SignedDocument:
    sale = replace(
        demo_eierskifte(), unit=RESTRICTED_UNIT, sellers=(Share(HILDE_STRAND, 1, 1),), buyers=DEMO_SALE.buyers
    )
    return SignedDocument(sale, signed_by(HILDE_STRAND))


async def test_a_restriction_blocks_a_transfer_without_consent(register):
    await _refused(register, [_restricted_sale()], Control.URAADIGHET_UTEN_SAMTYKKE, 1)


async def test_the_restriction_holders_consent_lifts_the_restriction(register):
    consent = Samtykke("samtykke-1", RESTRICTED_UNIT, RESTRICTION, BOLIGSTIFTELSEN, ("skjoete-1",))
    documents = [_restricted_sale(), SignedDocument(consent, signed_by(BOLIGSTIFTELSEN))]
    decision = await process_package(package(documents), register)
    assert decision.results == ()
    assert [d.reference for d in decision.registered] == ["skjoete-1"]


async def test_a_consent_must_be_signed_by_the_restriction_holder(register):
    consent = Samtykke("samtykke-1", RESTRICTED_UNIT, RESTRICTION, BOLIGSTIFTELSEN, ("skjoete-1",))
    documents = [_restricted_sale(), SignedDocument(consent, signed_by(HILDE_STRAND))]
    decision = await _refused(register, documents, Control.SAMTYKKE_IKKE_SIGNERT, 2)
    assert Control.URAADIGHET_UTEN_SAMTYKKE in {r.control for r in decision.results}


async def test_a_consent_from_someone_else_does_not_count(register):
    consent = Samtykke("samtykke-1", RESTRICTED_UNIT, RESTRICTION, DEMO_SALE.buyers_bank, ("skjoete-1",))
    documents = [_restricted_sale(), SignedDocument(consent, signed_by(DEMO_SALE.buyers_bank))]
    await _refused(register, documents, Control.SAMTYKKEGIVER_ER_IKKE_RETTIGHETSHAVER, 2)


async def test_a_personal_number_with_wrong_check_digits_rejects_the_package(register):
    typo = Party.person(KARI_NORDMANN.ident[:-1] + str((int(KARI_NORDMANN.ident[-1]) + 1) % 10), "Kari Nordmann")
    buyers = (Share(typo, 1, 2), Share(OLA_NORDMANN, 1, 2))
    documents = demo_documents()
    documents[0] = replace(documents[0], document=replace(demo_eierskifte(), buyers=buyers))
    await _refused(register, documents, Control.IDENTIFIKATOR_UGYLDIG, 1, Outcome.AVVIST)
