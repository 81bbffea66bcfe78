"""Checking a webhook delivery from the broker before acting on it (Standard Webhooks signatures).

A receiver recomputes HMAC-SHA256 over ``<webhook-id>.<webhook-timestamp>.<body>`` with the subscription's
secret and compares it in constant time with each ``v1,`` signature offered; it refuses a timestamp too far
from its own clock (a replayed delivery), and keeps the ``webhook-id``s it has handled to drop repeats (the
broker posts again when a 2xx was lost).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

TOLERANCE_S = 300


class WebhookRefused(ValueError):
    """The delivery is not from the broker, or not fresh; answer it with 4xx and do not act on it."""


def verify_delivery(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_s: int = TOLERANCE_S,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """The CloudEvent of a delivery whose signature and timestamp hold; ``WebhookRefused`` otherwise."""
    lowered = {k.lower(): v for k, v in headers.items()}
    webhook_id = lowered.get("webhook-id", "")
    timestamp = lowered.get("webhook-timestamp", "")
    offered = lowered.get("webhook-signature", "")
    if not webhook_id or not timestamp.isdigit() or not offered:
        raise WebhookRefused("the delivery lacks its webhook-id, webhook-timestamp or webhook-signature")
    if abs(clock() - int(timestamp)) > tolerance_s:
        raise WebhookRefused("the delivery's timestamp is too far from now")
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except ValueError as exc:
        raise WebhookRefused("the secret is not a whsec_ key") from exc
    expected = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    for candidate in offered.split():
        version, _, value = candidate.partition(",")
        try:
            decoded = base64.b64decode(value, validate=True)
        except ValueError:
            continue
        if version == "v1" and hmac.compare_digest(expected, decoded):
            break
    else:
        raise WebhookRefused("no signature of the delivery matches")
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise WebhookRefused("the body is not JSON") from exc
    if not isinstance(event, dict) or event.get("id") != webhook_id or event.get("specversion") != "1.0":
        raise WebhookRefused("the body is not the CloudEvent the delivery names")
    return event
