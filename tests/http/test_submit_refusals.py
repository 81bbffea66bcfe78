"""Every submit refusal with its status and problem type, and the idempotency rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from lxml import etree

from broker.app import create_app
from broker.app_keys import SERVICES
from broker.config import XmlLimits
from broker.domain.errors import Error
from broker.domain.identifiers import with_orgnr_check_digit
from broker.store.unit_of_work import UnitOfWork
from broker.xml.keys import SigningCredential
from broker.xml.pki import TestPki, enterprise_subject, issue_certificate
from broker.xml.signing import sign_enveloped_bytes
from tests.http.conftest import (
    BANK,
    BANK_2,
    EXAMPLES,
    KARTVERKET,
    MEGLER,
    Broker,
    broker_settings,
    example_message,
    register_demo,
)


async def _refused(response: Any, error: Error) -> dict[str, Any]:
    assert response.status == error.spec.status, await response.text()
    assert response.content_type == "application/problem+json"
    body = await response.json()
    assert body["type"] == error.spec.type_uri, body
    assert body["code"] == error.spec.code
    assert body["instance"] == "/api/v1/messages"
    return body


async def test_a_token_of_one_participant_cannot_send_as_another(sqlite_broker: Broker) -> None:
    document = sqlite_broker.signed("intensjonFraBank")  # sender BANK, signed by BANK
    await _refused(await sqlite_broker.send(BANK_2, document), Error.SENDER_NOT_CALLER)


async def test_a_document_claiming_sender_a_signed_by_b_is_refused(sqlite_broker: Broker) -> None:
    document = sqlite_broker.signed("intensjonFraBank", signer=BANK_2)
    body = await _refused(await sqlite_broker.send(BANK, document), Error.SIGNER_MISMATCH)
    assert BANK_2 in body["detail"]


async def test_a_trusted_certificate_that_is_not_the_registered_one_is_refused(
    sqlite_broker: Broker, test_pki: TestPki
) -> None:
    key, cert = issue_certificate(
        test_pki.ca_private_key(), test_pki.ca_certificate(), enterprise_subject(BANK, "Nordlys Sparebank")
    )
    document = sign_enveloped_bytes(example_message("intensjonFraBank"), SigningCredential(key, cert))
    await _refused(await sqlite_broker.send(BANK, document), Error.SIGNER_MISMATCH)


async def test_routing_rules(sqlite_broker: Broker) -> None:
    broker = sqlite_broker
    unknown = with_orgnr_check_digit("94000000") or with_orgnr_check_digit("94000001")
    assert unknown
    document = broker.signed("intensjonFraBank", recipient=unknown)
    await _refused(await broker.send(BANK, document), Error.UNKNOWN_PARTICIPANT)

    wrong_role = broker.signed("pantedokument", sender=KARTVERKET)
    body = await _refused(await broker.send(KARTVERKET, wrong_role), Error.WRONG_ROLE)
    assert "kartverket" in body["detail"]

    to_a_bank = broker.signed("intensjonFraBank", recipient=BANK_2)
    await _refused(await broker.send(BANK, to_a_bank), Error.WRONG_ROLE)


async def test_a_recipient_without_the_capability_is_refused(sqlite_broker: Broker) -> None:
    await register_demo(sqlite_broker.services, sqlite_broker.pki, o930000000={"receives": ["pantedokument"]})
    document = sqlite_broker.signed("intensjonFraBank")
    body = await _refused(await sqlite_broker.send(BANK, document), Error.NOT_CAPABLE)
    assert MEGLER in body["detail"]


async def test_an_inactive_recipient_is_refused(sqlite_broker: Broker) -> None:
    async with UnitOfWork(sqlite_broker.services.engine) as uow:
        await uow.participants.set_active(MEGLER, False)
        await uow.commit()
    document = sqlite_broker.signed("intensjonFraBank")
    await _refused(await sqlite_broker.send(BANK, document), Error.PARTICIPANT_INACTIVE)


async def test_schema_errors_come_with_line_and_column(sqlite_broker: Broker) -> None:
    document = (EXAMPLES / "invalid" / "pant-beloep-negativ.xml").read_bytes()
    body = await _refused(await sqlite_broker.send(BANK, document), Error.SCHEMA_INVALID)
    lines = {issue["line"] for issue in body["errors"]}
    assert 38 in lines
    issue = next(issue for issue in body["errors"] if issue["line"] == 38)
    assert issue["column"] > 0
    assert issue["path"].endswith("beloep")
    assert issue["message"]


async def test_identifier_rules_are_422(sqlite_broker: Broker) -> None:
    document = (EXAMPLES / "invalid" / "pant-kontonummer-kontrollsiffer.xml").read_bytes()
    body = await _refused(await sqlite_broker.send(BANK, document), Error.RULE_VIOLATION)
    assert all(issue["line"] > 0 for issue in body["errors"])


async def test_signature_missing_or_broken(sqlite_broker: Broker) -> None:
    unsigned = example_message("intensjonFraBank")
    await _refused(await sqlite_broker.send(BANK, unsigned), Error.SIGNATURE_MISSING)
    signed = sqlite_broker.signed("intensjonFraBank")
    tampered = signed.replace(b"Sigrid Bakke", b"Sigrid Backe")
    assert tampered != signed
    await _refused(await sqlite_broker.send(BANK, tampered), Error.SIGNATURE_INVALID)


async def test_not_xml_not_well_formed_and_doctype(sqlite_broker: Broker) -> None:
    document = sqlite_broker.signed("intensjonFraBank")
    await _refused(await sqlite_broker.send(BANK, document, content_type="application/json"), Error.NOT_XML)
    await _refused(await sqlite_broker.send(BANK, b"<a><b></a>"), Error.XML_NOT_WELL_FORMED)
    doctype = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'
    await _refused(await sqlite_broker.send(BANK, doctype), Error.XML_FORBIDDEN_CONSTRUCT)
    root = etree.fromstring(b"<unknown xmlns='urn:nothing'/>")
    await _refused(await sqlite_broker.send(BANK, etree.tostring(root)), Error.UNKNOWN_MESSAGE_TYPE)


async def test_resending_is_idempotent_and_reusing_an_id_is_a_conflict(broker: Broker) -> None:
    document = broker.signed("intensjonFraBank", message_id="6f1c2a3b-0000-4000-8000-000000000001")
    first = await broker.send(BANK, document)
    assert first.status == 201
    again = await broker.send(BANK, document)
    assert again.status == 200
    assert (await again.json())["id"] == (await first.json())["id"]
    other = broker.signed(
        "intensjonFraBank", message_id="6f1c2a3b-0000-4000-8000-000000000001", reference="ANOTHER-CASE"
    )
    await _refused(await broker.send(BANK, other), Error.DUPLICATE_MESSAGE_ID)
    listed = await broker.client.get("/api/v1/messages", params={"box": "outbox"}, headers=await broker.headers(BANK))
    assert len((await listed.json())["items"]) == 1


async def _small_limit_client(aiohttp_client: Any, tmp_path: Path, pki: TestPki, limit: int) -> TestClient:
    settings = broker_settings(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'small.db'}", pki, limits=XmlLimits(max_bytes=limit)
    )
    app = create_app(settings)
    client = await aiohttp_client(app)
    await register_demo(app[SERVICES], pki)
    return client


async def test_one_byte_over_the_limit_is_413_declared_or_streamed(
    aiohttp_client: Any, tmp_path: Path, test_pki: TestPki
) -> None:
    limit = 2048
    client = await _small_limit_client(aiohttp_client, tmp_path, test_pki, limit)
    broker = Broker(client, test_pki)
    headers = await broker.headers(BANK, **{"Content-Type": "application/xml"})
    at_limit = b"<a>" + b"x" * (limit - 7) + b"</a>"
    assert len(at_limit) == limit
    response = await client.post("/api/v1/messages", data=at_limit, headers=headers)
    assert response.status != 413  # read whole, then refused for what it is (no known message type)
    over = at_limit + b" "
    await _refused(await client.post("/api/v1/messages", data=over, headers=headers), Error.TOO_LARGE)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(over), 512):
            yield over[start : start + 512]

    streamed = await client.post("/api/v1/messages", data=chunks(), headers=headers)
    await _refused(streamed, Error.TOO_LARGE)
