"""Reading what the broker sends with the CloudEvents SDK, so the tests check the format independently."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat


def parsed(body: bytes, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The attributes and data of one CloudEvent (structured mode, or binary with ``ce-`` headers)."""
    message = HTTPMessage(headers=dict(headers or {"content-type": "application/cloudevents+json"}), body=body)
    event = from_http(message, JSONFormat())
    return {**event.get_attributes(), "data": event.get_data()}
