"""``/events/api/v1/subscriptions``: a participant makes, sees and deletes only its own subscriptions."""

from __future__ import annotations

import pytest

from tests.events.conftest import OTHER_RECIPIENT, RECIPIENT, SENDER
from tests.http.conftest import Broker

PATH = "/events/api/v1/subscriptions"


async def test_a_subscription_is_made_listed_and_deleted_by_its_owner_only(webhook_broker: Broker) -> None:
    client, headers = webhook_broker.client, await webhook_broker.headers(RECIPIENT)
    made = await client.post(
        PATH,
        json={
            "endPoint": "https://receiver.example/hooks?x=1",
            "resourceFilter": "urn:altinn:resource:kv_dsve",
            "typeFilter": ["published", "no.altinn.broker.uploadfailed"],
        },
        headers=headers,
    )
    assert made.status == 201, await made.text()
    body = await made.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert body["resourceFilter"] == "urn:altinn:resource:kv_dsve"
    assert body["subjectFilter"] == f"/organisation/{RECIPIENT}"
    assert body["typeFilter"] == ["no.altinn.broker.published", "no.altinn.broker.uploadfailed"]
    assert made.headers["Location"] == f"{PATH}/{body['id']}"

    listed = await (await client.get(PATH, headers=headers)).json()
    assert [s["id"] for s in listed["items"]] == [body["id"]]
    assert "secret" not in listed["items"][0]  # shown once
    one = await client.get(f"{PATH}/{body['id']}", headers=headers)
    assert one.status == 200 and "secret" not in await one.json()

    other = await webhook_broker.headers(OTHER_RECIPIENT)
    assert (await (await client.get(PATH, headers=other)).json())["items"] == []
    assert (await client.get(f"{PATH}/{body['id']}", headers=other)).status == 404
    assert (await client.delete(f"{PATH}/{body['id']}", headers=other)).status == 404

    assert (await client.delete(f"{PATH}/{body['id']}", headers=headers)).status == 204
    assert (await client.get(f"{PATH}/{body['id']}", headers=headers)).status == 404
    assert (await client.delete(f"{PATH}/{body['id']}", headers=headers)).status == 404


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"endPoint": "http://receiver.example/", "resourceFilter": "kv_dsve"}, "https"),
        ({"endPoint": "https://10.1.2.3/hook", "resourceFilter": "kv_dsve"}, "public"),
        ({"endPoint": "https://169.254.169.254/latest", "resourceFilter": "kv_dsve"}, "public"),
        ({"endPoint": "http://10.0.0.1:80/", "resourceFilter": "kv_dsve"}, "https"),
        ({"endPoint": "https://user:pw@receiver.example/", "resourceFilter": "kv_dsve"}, "credentials"),
        ({"endPoint": "https://receiver.example/", "resourceFilter": "kv dsve"}, "resourceFilter"),
        ({"endPoint": "https://receiver.example/", "resourceFilter": "kv_dsve", "typeFilter": "filedeleted"}, "type"),
        ({"endPoint": "https://receiver.example/", "resourceFilter": "kv_dsve", "typeFilter": {"a": 1}}, "typeFilter"),
        ({"resourceFilter": "kv_dsve"}, "endPoint"),
        ([], "JSON object"),
    ],
)
async def test_a_bad_subscription_is_refused_with_a_reason(
    sqlite_webhook_broker: Broker, body: object, why: str
) -> None:
    broker = sqlite_webhook_broker
    response = await broker.client.post(PATH, json=body, headers=await broker.headers(SENDER))
    assert response.status == 400
    problem = await response.json()
    assert why in problem["detail"]
    assert "Traceback" not in await response.text()


async def test_subscriptions_need_a_token(sqlite_webhook_broker: Broker) -> None:
    client = sqlite_webhook_broker.client
    assert (await client.get(PATH)).status == 401
    response = await client.post(PATH, json={"endPoint": "https://x.example/", "resourceFilter": "r"})
    assert response.status == 401
