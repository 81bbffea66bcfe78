"""The broker verifies the inner signatures a message carries and refuses a document its signers have not signed.

Before, a ``pantedokument`` whose ``signaturer`` was empty was accepted (201): only the megler checked the
mortgagors' signatures.
"""

from __future__ import annotations

import tempfile

from lxml import etree

from broker.xml.pki import DEMO_PERSONS, init_test_pki
from broker.xml.signing import sign_inner_document
from tests.http.conftest import BANK, Broker, example_message

DOKUMENT_NS = "urn:no:dsve:dokument:v1"
KARI, OLA = "15889210181", "03928810037"  # the mortgagors the example names


def _deed(broker: Broker, signers: list[str], *, tamper: bool = False, other_ca: bool = False) -> bytes:
    root = etree.fromstring(example_message("pantedokument"))
    pant = root.find(f"{{{DOKUMENT_NS}}}pant")
    assert pant is not None
    container = pant.getnext()
    assert container is not None
    pki = init_test_pki(tempfile.mkdtemp(), (), DEMO_PERSONS[:2], key_type="ec") if other_ca else broker.pki
    for person in signers:
        sign_inner_document(root, "pant-1", container, pki.credential(person))
    if tamper:
        beloep = pant.find(f"{{{DOKUMENT_NS}}}beloep")
        assert beloep is not None
        beloep.text = "9900000"
    return broker.sign(etree.tostring(root, xml_declaration=True, encoding="UTF-8"), BANK)


async def _refusal(broker: Broker, body: bytes) -> dict[str, object]:
    response = await broker.send(BANK, body)
    assert response.status == 422, await response.text()
    problem: dict[str, object] = await response.json()
    return problem


async def test_a_mortgage_signed_by_every_mortgagor_is_accepted(sqlite_broker: Broker) -> None:
    response = await sqlite_broker.send(BANK, _deed(sqlite_broker, [KARI, OLA]))
    assert response.status == 201, await response.text()


async def test_an_unsigned_mortgage_is_refused(sqlite_broker: Broker) -> None:
    problem = await _refusal(sqlite_broker, _deed(sqlite_broker, []))
    assert str(problem["type"]).endswith("/signature-missing")


async def test_a_mortgage_without_one_mortgagors_signature_is_refused(sqlite_broker: Broker) -> None:
    problem = await _refusal(sqlite_broker, _deed(sqlite_broker, [KARI]))
    assert str(problem["type"]).endswith("/signer-missing")
    assert "039288*****" in str(problem["detail"]) and OLA not in str(problem)


async def test_a_mortgage_changed_after_signing_is_refused(sqlite_broker: Broker) -> None:
    problem = await _refusal(sqlite_broker, _deed(sqlite_broker, [KARI, OLA], tamper=True))
    assert str(problem["type"]).endswith("/signature-invalid")


async def test_a_mortgagors_certificate_from_an_untrusted_ca_is_refused(sqlite_broker: Broker) -> None:
    problem = await _refusal(sqlite_broker, _deed(sqlite_broker, [KARI, OLA], other_ca=True))
    assert str(problem["type"]).endswith("/certificate-untrusted")
