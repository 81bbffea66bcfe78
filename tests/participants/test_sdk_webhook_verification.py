"""A receiver checks the broker's webhook deliveries with the SDK: signature, freshness, the event named."""

from __future__ import annotations

import json
import time

import pytest

from broker.events.altinn_event import AltinnEvent, AltinnEventType, SubjectRole
from broker.events.webhook_signature import new_secret, signed_headers
from participants.sdk.webhook_verification import WebhookRefused, verify_delivery


def _delivery(secret: str, at: int | None = None) -> tuple[dict[str, str], bytes]:
    event = AltinnEvent(AltinnEventType.PUBLISHED, "kv_dsve", "f-1", "910000004", SubjectRole.RECIPIENT)
    body = json.dumps(event.cloud_event()).encode()
    return signed_headers(secret, event.id, int(time.time()) if at is None else at, body), body


def test_a_signed_delivery_is_accepted() -> None:
    secret = new_secret()
    headers, body = _delivery(secret)
    event = verify_delivery(secret, {k.title(): v for k, v in headers.items()}, body)
    assert event["type"] == "no.altinn.broker.published" and event["id"] == headers["webhook-id"]
    rotated = {**headers, "webhook-signature": "v1,bm90LWl0 " + headers["webhook-signature"]}
    assert verify_delivery(secret, rotated, body)["id"] == headers["webhook-id"]  # any offered signature


def test_forged_stale_or_mismatched_deliveries_are_refused() -> None:
    secret = new_secret()
    headers, body = _delivery(secret)
    with pytest.raises(WebhookRefused):
        verify_delivery(new_secret(), headers, body)  # another subscription's key
    with pytest.raises(WebhookRefused):
        verify_delivery(secret, headers, body.replace(b"published", b"uploadfailed"))
    with pytest.raises(WebhookRefused):
        verify_delivery(secret, {**headers, "webhook-id": "another"}, body)
    old_headers, old_body = _delivery(secret, at=int(time.time()) - 3600)
    with pytest.raises(WebhookRefused):
        verify_delivery(secret, old_headers, old_body)
    with pytest.raises(WebhookRefused):
        verify_delivery(secret, {"webhook-id": headers["webhook-id"]}, body)
    with pytest.raises(WebhookRefused):
        verify_delivery(secret, {**headers, "webhook-signature": "v1,!!!"}, body)
