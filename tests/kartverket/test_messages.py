"""The use case over real signed XML: decoding, signature rules, and the signed, schema-valid statuses."""

from __future__ import annotations

import pytest
from lxml import etree

from broker.config import REPO_XSD_DIR
from broker.domain.errors import Refusal
from broker.xml.catalogue import compile_schema
from broker.xml.parsing import hardened_parser
from broker.xml.signing import sign_enveloped
from broker.xml.trust import TrustStore
from broker.xml.verification import SignatureVerifier
from participants.kartverket.messages import SubmissionUnreadable, decode_submission
from participants.kartverket.model import Eierskifte, Operation, Pant, RightKind, Sletting
from participants.kartverket.registration import handle_submission
from participants.kartverket.seed import DEMO_SALE
from tests.kartverket.signed_packages import (
    DEMO_SIGNERS,
    NS,
    demo_document_data,
    package_element,
    sign_documents,
    signed_package,
)


@pytest.fixture(scope="module")
def status_schema() -> etree.XMLSchema:
    return compile_schema(REPO_XSD_DIR / "tinglysing.xsd")


@pytest.fixture
def verifier(test_pki) -> SignatureVerifier:
    return SignatureVerifier(TrustStore([test_pki.ca_certificate()]))


@pytest.fixture
def kartverket_credential(test_pki):
    return test_pki.credential(DEMO_SALE.kartverket.ident)


def _read(message: bytes, verifier: SignatureVerifier, schema: etree.XMLSchema) -> etree._Element:
    """Check a status as the megler would: schema-valid, signed by Kartverket; answer the signed content."""
    root = etree.fromstring(message, hardened_parser())
    schema.assertValid(root)
    verified = verifier.verify_enveloped(root)
    assert verified.signer.orgnr == DEMO_SALE.kartverket.ident
    return verified.root


async def _final(package, verifier, register, credential, schema) -> etree._Element:
    """The signed content of the AVSLUTTET status for ``package``."""
    messages = await handle_submission(package, verifier, register, credential)
    assert len(messages) == 2
    return _read(messages[1], verifier, schema)


def _findings(root: etree._Element) -> list[tuple[str | None, str]]:
    return [
        (r.findtext("t:dokumentindeks", namespaces=NS), r.findtext("t:kode", namespaces=NS))
        for r in root.iterfind("t:kontrollresultater/t:kontrollresultat", NS)
    ]


async def test_a_repeated_reference_is_refused_at_receipt(
    register, verifier, kartverket_credential, test_pki, status_schema
):
    await handle_submission(signed_package(test_pki), verifier, register, kartverket_credential)
    documents = await register.document_count()

    [final] = await handle_submission(signed_package(test_pki), verifier, register, kartverket_credential)

    status = _read(final, verifier, status_schema)
    assert (status.findtext("t:status", namespaces=NS), status.findtext("t:utfall", namespaces=NS)) == (
        "AVSLUTTET",
        "AVVIST",
    )
    assert _findings(status) == [(None, "INNSENDINGSREFERANSE_BRUKT")]
    assert await register.document_count() == documents


async def test_a_signed_package_is_registered_and_answered(
    register, verifier, kartverket_credential, test_pki, status_schema
):
    messages = await handle_submission(signed_package(test_pki), verifier, register, kartverket_credential)

    received, final = (_read(m, verifier, status_schema) for m in messages)
    assert received.findtext("t:status", namespaces=NS) == "MOTTATT"
    assert final.findtext("t:status", namespaces=NS) == "AVSLUTTET"
    assert final.findtext("t:utfall", namespaces=NS) == "TINGLYST"
    for root in (received, final):
        assert root.findtext("t:hode/t:mottakersReferanse", namespaces=NS) == "OPPGJ-2026-0412"
        assert root.findtext("t:hode/t:mottaker/t:orgnr", namespaces=NS) == DEMO_SALE.megler.ident
        assert root.findtext("t:innsendingsreferanse", namespaces=NS) == "FJM-20261214-0001"
    ids = {root.findtext("t:hode/t:meldingsid", namespaces=NS) for root in (received, final)}
    assert len(ids) == 2 and "6f1d2c3b-8a47-4e5f-9b10-2c3d4e5f6a71" not in ids
    registered = final.findall("t:tinglysteDokumenter/t:tinglystDokument", NS)
    assert [d.findtext("t:dokumentreferanse", namespaces=NS) for d in registered] == [
        "skjoete-1",
        "pant-1",
        "sletting-1",
    ]
    extract = await register.extract(DEMO_SALE.unit)
    assert {s.holder for s in extract.owners} == {s.holder for s in DEMO_SALE.buyers}
    assert [r.holder for r in extract.rights if r.kind is RightKind.PANT] == [DEMO_SALE.buyers_bank]


async def test_a_mortgage_signed_by_one_buyer_is_refused(
    register, verifier, kartverket_credential, test_pki, status_schema
):
    before = await register.document_count()
    signers = {**DEMO_SIGNERS, "pant-1": (DEMO_SALE.buyers[0].holder.ident,)}
    package = signed_package(test_pki, signers=signers)

    final = await _final(package, verifier, register, kartverket_credential, status_schema)

    assert final.findtext("t:utfall", namespaces=NS) == "AVVIST"
    assert _findings(final) == [("2", "PANTSETTER_HAR_IKKE_SIGNERT")]
    assert final.find("t:tinglysteDokumenter", NS) is None
    assert await register.document_count() == before


async def test_a_deletion_signed_by_another_bank_is_refused(
    register, verifier, kartverket_credential, test_pki, status_schema
):
    signers = {**DEMO_SIGNERS, "sletting-1": (DEMO_SALE.buyers_bank.ident,)}
    messages = await handle_submission(
        signed_package(test_pki, signers=signers), verifier, register, kartverket_credential
    )
    assert _findings(_read(messages[1], verifier, status_schema)) == [("3", "RETTIGHETSHAVER_HAR_IKKE_SIGNERT")]


async def test_a_document_changed_after_signing_rejects_the_package(
    register, verifier, kartverket_credential, test_pki, status_schema
):
    root = package_element(demo_document_data())

    sign_documents(root, test_pki, DEMO_SIGNERS)
    root.find(".//d:pant/d:beloep", NS).text = "9900000"
    package = sign_enveloped(root, test_pki.credential(DEMO_SALE.megler.ident))

    final = await _final(package, verifier, register, kartverket_credential, status_schema)

    assert final.findtext("t:utfall", namespaces=NS) == "AVVIST"
    assert _findings(final) == [("2", "SIGNATUR_UGYLDIG")]


async def test_valider_answers_without_registering(register, verifier, kartverket_credential, test_pki, status_schema):
    before = await register.document_count()
    package = signed_package(test_pki, operation="valider")
    final = await _final(package, verifier, register, kartverket_credential, status_schema)
    assert final.findtext("t:status", namespaces=NS) == "AVSLUTTET"
    assert final.find("t:utfall", NS) is None and final.find("t:kontrollresultater", NS) is None
    assert final.find("t:tinglysteDokumenter", NS) is None
    assert await register.document_count() == before


async def test_a_package_signed_by_another_than_its_sender_is_not_answered(
    register, verifier, kartverket_credential, test_pki
):
    package = signed_package(test_pki, sender=DEMO_SALE.buyers_bank.ident)
    with pytest.raises(Refusal):
        await handle_submission(package, verifier, register, kartverket_credential)


async def test_a_package_breaking_the_schema_is_rejected(
    register, verifier, kartverket_credential, test_pki, status_schema
):
    root = package_element(demo_document_data())
    root.find("t:operasjon", NS).text = "slett-alt"

    messages = await handle_submission(root, verifier, register, kartverket_credential)

    final = _read(messages[1], verifier, status_schema)
    assert final.findtext("t:utfall", namespaces=NS) == "AVVIST"
    assert _findings(final) == [(None, "FORSENDELSE_UGYLDIG")]


def test_the_example_package_decodes():
    root = etree.parse(str(REPO_XSD_DIR / "examples" / "tinglysingsforsendelse.xml"), hardened_parser()).getroot()
    submission = decode_submission(root)
    assert submission.operation is Operation.TINGLYS
    assert [type(d.document) for d in submission.documents] == [Eierskifte, Pant, Sletting]
    assert [d.element_id for d in submission.documents] == ["eierskifte-1", "pant-1", "sletting-1"]
    assert submission.header.sender.ident == DEMO_SALE.megler.ident


def test_another_message_type_is_unreadable():
    with pytest.raises(SubmissionUnreadable):
        decode_submission(etree.fromstring(b'<forsendelsesstatus xmlns="urn:no:dsve:tinglysing:v1"/>'))
