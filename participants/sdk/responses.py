"""Reading the broker's answers: JSON when it is JSON, the raw bytes otherwise, problems as errors."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from participants.sdk.errors import BrokerError


async def json_or_text(response: aiohttp.ClientResponse) -> Any:
    """The decoded JSON body; a body that is not JSON (a proxy's HTML page) comes back as bytes."""
    raw = await response.read()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


async def raise_for_problem(response: aiohttp.ClientResponse) -> None:
    """Raise the broker's problem as a BrokerError when the status is not a success."""
    if response.status < 400:
        return
    raise BrokerError.from_problem(response.status, await json_or_text(response))
