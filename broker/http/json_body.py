"""The broker's JSON answers (``broker.json_text``), in place of ``web.json_response`` and its
standard-library encoder."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from broker.json_text import json_bytes

JSON = "application/json"


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None, content_type: str = JSON
) -> web.Response:
    return web.Response(
        body=json_bytes(data), status=status, headers=headers, content_type=content_type, charset="utf-8"
    )
