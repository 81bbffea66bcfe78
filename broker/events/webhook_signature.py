"""Signing webhook deliveries the way the Standard Webhooks specification does, so receivers can check them.

Each subscription has its own secret, ``whsec_`` followed by the base64 of 32 random bytes, shown to the
subscriber once. A delivery carries ``webhook-id`` (the event's id: the same on every retry, so a receiver
drops a repeat), ``webhook-timestamp`` (Unix seconds: a receiver refuses old ones, against replays) and
``webhook-signature``: ``v1,`` and the base64 of HMAC-SHA256 over ``<id>.<timestamp>.<body>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"
HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        HEADER_ID: webhook_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: signature(secret, webhook_id, timestamp, body),
    }
