"""Reading: visibility (a foreign id is 404 everywhere), listing with filters and cursors, the case view,
participant lookup, the schema catalogue and validate-only."""

from __future__ import annotations

import uuid
from typing import Any

from broker.domain.errors import Error
from tests.http.conftest import BANK, BANK_2, EXAMPLES, KARTVERKET, MEGLER, Broker


async def _sent(broker: Broker, orgnr: str, document: bytes) -> dict[str, Any]:
    response = await broker.send(orgnr, document)
    assert response.status == 201, await response.text()
    return await response.json()


async def test_a_foreign_message_is_404_on_every_endpoint(broker: Broker) -> None:
    message = await _sent(broker, BANK, broker.signed("intensjonFraBank", reference="CASE-SECRET"))
    outsider = await broker.headers(BANK_2)
    client = broker.client
    base = f"/api/v1/messages/{message['id']}"
    for response in (
        await client.get(base, headers=outsider),
        await client.get(f"{base}/content", headers=outsider),
        await client.post(f"{base}/confirm", headers=outsider),
        await client.get("/api/v1/cases/CASE-SECRET", headers=outsider),
        await client.get(f"/api/v1/messages/{uuid.uuid4()}", headers=outsider),
    ):
        assert response.status == 404, await response.text()
        assert (await response.json())["type"] == Error.NOT_FOUND.spec.type_uri
    listed = await client.get("/api/v1/messages", params={"box": "inbox"}, headers=outsider)
    assert (await listed.json())["items"] == []
    # Nothing the outsider did moved the message (the relay may have published it meanwhile).
    viewed = await client.get(base, headers=await broker.headers(BANK))
    assert {h["status"] for h in (await viewed.json())["history"]} <= {"accepted", "published"}


async def test_only_the_recipient_confirms_and_the_sender_download_changes_nothing(broker: Broker) -> None:
    message = await _sent(broker, BANK, broker.signed("intensjonFraBank"))
    bank = await broker.headers(BANK)
    base = f"/api/v1/messages/{message['id']}"
    response = await broker.client.post(f"{base}/confirm", headers=bank)
    assert response.status == 403
    assert (await response.json())["type"] == Error.NOT_RECIPIENT.spec.type_uri
    own = await broker.client.get(f"{base}/content", headers=bank)
    assert own.status == 200
    viewed = await (await broker.client.get(base, headers=bank)).json()
    assert "downloaded" not in [h["status"] for h in viewed["history"]]


async def test_listing_filters_and_cursor_pages(sqlite_broker: Broker) -> None:
    broker = sqlite_broker
    ids = [(await _sent(broker, BANK, broker.signed("intensjonFraBank", reference=f"R-{i}")))["id"] for i in range(5)]
    await _sent(broker, BANK, broker.signed("pantedokument", reference="R-PANT"))
    megler = await broker.headers(MEGLER)
    seen: list[str] = []
    params = {"box": "inbox", "type": "intensjonFraBank", "limit": "2"}
    pages = 0
    while True:
        page = await (await broker.client.get("/api/v1/messages", params=params, headers=megler)).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == ids and pages == 3
    by_reference = await broker.client.get("/api/v1/messages", params={"reference": "R-PANT"}, headers=megler)
    assert [item["message_type"] for item in (await by_reference.json())["items"]] == ["pantedokument"]
    future = await broker.client.get("/api/v1/messages", params={"since": "2999-01-01T00:00:00+00:00"}, headers=megler)
    assert (await future.json())["items"] == []
    for bad in ({"box": "trash"}, {"status": "lost"}, {"cursor": "!!"}, {"limit": "0"}, {"since": "yesterday"}):
        response = await broker.client.get("/api/v1/messages", params=bad, headers=megler)
        assert response.status == 400, bad
        assert (await response.json())["type"] == Error.MALFORMED_REQUEST.spec.type_uri


async def test_case_view_finds_both_directions(sqlite_broker: Broker) -> None:
    broker = sqlite_broker
    request = await _sent(broker, BANK, broker.signed("intensjonFraBank", reference="NLS-CASE-1"))
    answer = await _sent(
        broker, MEGLER, broker.signed("intensjonssvarFraMegler", reference="FM-7", recipient_reference="NLS-CASE-1")
    )
    await _sent(broker, BANK, broker.signed("intensjonFraBank", reference="NLS-OTHER-CASE"))
    for orgnr in (BANK, MEGLER):
        case = await broker.client.get("/api/v1/cases/NLS-CASE-1", headers=await broker.headers(orgnr))
        assert case.status == 200
        assert [item["id"] for item in (await case.json())["items"]] == [request["id"], answer["id"]]


async def test_participants_and_schemas(sqlite_broker: Broker) -> None:
    client = sqlite_broker.client
    headers = await sqlite_broker.headers(BANK)
    listed = await (await client.get("/api/v1/participants", headers=headers)).json()
    assert {p["orgnr"] for p in listed["items"]} == {BANK, BANK_2, MEGLER, KARTVERKET}
    one = await (await client.get(f"/api/v1/participants/{KARTVERKET}", headers=headers)).json()
    assert one["role"] == "kartverket" and "tinglysingsforsendelse" in one["receives"]
    assert (await client.get("/api/v1/participants/999999999", headers=headers)).status == 404
    assert (await client.get("/api/v1/participants")).status == 401

    catalogue = await (await client.get("/api/v1/schemas")).json()
    assert len(catalogue["items"]) == 21
    xsd = await client.get("/api/v1/schemas/pantedokument")
    assert xsd.status == 200 and xsd.content_type == "application/xml"
    assert b"urn:no:dsve:pant:v1" in await xsd.read()
    entry = await client.get("/api/v1/schemas/pantedokument", headers={"Accept": "application/json"})
    assert (await entry.json())["sender_roles"] == ["bank"]
    assert (await client.get("/api/v1/schemas/nothing")).status == 404


async def test_validate_reports_without_storing(sqlite_broker: Broker) -> None:
    broker = sqlite_broker
    headers = await broker.headers(BANK, **{"Content-Type": "application/xml"})
    good = await broker.client.post("/api/v1/validate", data=broker.signed("intensjonFraBank"), headers=headers)
    assert (await good.json()) == {"valid": True, "message_type": "intensjonFraBank", "errors": []}
    invalid = (EXAMPLES / "invalid" / "pant-beloep-negativ.xml").read_bytes()
    report = await (await broker.client.post("/api/v1/validate", data=invalid, headers=headers)).json()
    assert report["valid"] is False and report["message_type"] == "pantedokument"
    assert report["code"] == Error.SCHEMA_INVALID.spec.code
    assert any(issue["line"] == 38 for issue in report["errors"])
    foreign = broker.signed("intensjonFraBank", signer=BANK_2)
    mismatch = await (await broker.client.post("/api/v1/validate", data=foreign, headers=headers)).json()
    assert mismatch["valid"] is False and mismatch["code"] == Error.SIGNER_MISMATCH.spec.code
    outbox = await broker.client.get("/api/v1/messages", params={"box": "outbox"}, headers=headers)
    assert (await outbox.json())["items"] == []
