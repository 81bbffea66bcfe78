"""The broker's HTTP API as typed async calls, for bank, megler and land-register systems.

One client per participant organisation: it owns a token provider (renewing ahead of expiry, and once
more when the broker answers 401, e.g. after a restart with a new token key) and an aiohttp session,
either its own or one the caller shares between clients.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any
from urllib.parse import quote

import aiohttp

from broker.xml.keys import SigningCredential
from participants.sdk.models import MessageInfo, ParticipantInfo, ValidationReport
from participants.sdk.polling import InboxPoller, MessageHandler
from participants.sdk.responses import raise_for_problem
from participants.sdk.tokens import TokenProvider

API = "/api/v1"
XML_CONTENT_TYPE = "application/xml"
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=60, connect=10)


class BrokerClient:
    """Send, list, download and confirm messages as one participant."""

    def __init__(
        self,
        base_url: str,
        orgnr: str,
        credential: SigningCredential,
        audience: str = "dsve-broker",
        session: aiohttp.ClientSession | None = None,
        page_size: int = 100,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.orgnr = orgnr
        self.credential = credential
        self.page_size = page_size
        self._session = session
        self._owns_session = session is None
        self.tokens = TokenProvider(f"{self.base_url}/token", orgnr, credential, audience=audience)

    async def __aenter__(self) -> BrokerClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=DEFAULT_TIMEOUT)
        return self._session

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        accept: str = "application/json",
    ) -> tuple[int, bytes]:
        """One authenticated call; a 401 renews the token and tries exactly once more."""
        url = f"{self.base_url}{path}"
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {await self.tokens.token(self.session)}", "Accept": accept}
            if content_type:
                headers["Content-Type"] = content_type
            async with self.session.request(method, url, params=params, data=body, headers=headers) as response:
                if response.status == 401 and attempt == 1:
                    self.tokens.invalidate()
                    continue
                await raise_for_problem(response)
                return response.status, await response.read()
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def _json(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        status, raw = await self._request(method, path, **kwargs)
        return status, _decode_json(raw)

    async def send(self, xml: bytes) -> MessageInfo:
        """Submit one signed message; a repeat of a stored one comes back with ``repeated`` set."""
        status, data = await self._json("POST", f"{API}/messages", body=xml, content_type=XML_CONTENT_TYPE)
        return MessageInfo.from_json(data, repeated=status == 200)

    async def validate(self, xml: bytes) -> ValidationReport:
        """Run the broker's whole pipeline on a document without storing it."""
        _, data = await self._json("POST", f"{API}/validate", body=xml, content_type=XML_CONTENT_TYPE)
        return ValidationReport.from_json(data)

    def inbox(
        self,
        status: str | None = None,
        message_type: str | None = None,
        since: datetime | str | None = None,
        reference: str | None = None,
    ) -> AsyncIterator[MessageInfo]:
        """Messages to this participant, oldest first, page after page until the cursor runs out."""
        return self._list("inbox", status, message_type, since, reference)

    def outbox(
        self,
        status: str | None = None,
        message_type: str | None = None,
        since: datetime | str | None = None,
        reference: str | None = None,
    ) -> AsyncIterator[MessageInfo]:
        """Messages this participant sent, with their current status (a receipt trail)."""
        return self._list("outbox", status, message_type, since, reference)

    async def _list(
        self,
        box: str,
        status: str | None,
        message_type: str | None,
        since: datetime | str | None,
        reference: str | None,
    ) -> AsyncIterator[MessageInfo]:
        params: dict[str, str] = {"box": box, "limit": str(self.page_size)}
        if status:
            params["status"] = status
        if message_type:
            params["type"] = message_type
        if since:
            params["since"] = since.isoformat() if isinstance(since, datetime) else since
        if reference:
            params["reference"] = reference
        while True:
            _, page = await self._json("GET", f"{API}/messages", params=params)
            for item in _items(page):
                yield MessageInfo.from_json(item)
            cursor = _next_cursor(page)
            if not cursor:
                return
            params["cursor"] = cursor

    async def message(self, message_id: str) -> MessageInfo:
        _, data = await self._json("GET", f"{API}/messages/{quote(message_id, safe='')}")
        return MessageInfo.from_json(data)

    async def download(self, message_id: str) -> bytes:
        """The signed XML exactly as its sender submitted it."""
        _, raw = await self._request(
            "GET", f"{API}/messages/{quote(message_id, safe='')}/content", accept=XML_CONTENT_TYPE
        )
        return raw

    async def confirm(self, message_id: str) -> MessageInfo | None:
        """Tell the broker the message is handled; repeating it is harmless."""
        _, data = await self._json("POST", f"{API}/messages/{quote(message_id, safe='')}/confirm")
        return MessageInfo.from_json(data) if isinstance(data, dict) and "id" in data else None

    async def case(self, reference: str) -> list[MessageInfo]:
        """Every message of one case this participant may see, in order."""
        _, data = await self._json("GET", f"{API}/cases/{quote(reference, safe='')}")
        return [MessageInfo.from_json(item) for item in _items(data)]

    async def participant(self, orgnr: str) -> ParticipantInfo:
        _, data = await self._json("GET", f"{API}/participants/{quote(orgnr, safe='')}")
        return ParticipantInfo.from_json(data)

    async def participants(self) -> list[ParticipantInfo]:
        _, data = await self._json("GET", f"{API}/participants")
        return [ParticipantInfo.from_json(item) for item in _items(data)]

    async def poll_inbox(
        self, handler: MessageHandler, interval: float = 2.0, stop: asyncio.Event | None = None
    ) -> None:
        """Receive without AMQP: download, handle and confirm each message, until ``stop`` is set."""
        await InboxPoller(self, handler).run(interval=interval, stop=stop)


def _decode_json(raw: bytes) -> Any:
    return json.loads(raw) if raw else None


def _items(data: Any) -> list[dict[str, Any]]:
    """The list of a collection answer, whether bare or wrapped in an object."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in ("items", "messages", "participants", "data"):
            if isinstance(items := data.get(key), list):
                return items
    return []


def _next_cursor(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    cursor = data.get("next_cursor") or data.get("nextCursor") or data.get("cursor")
    return str(cursor) if cursor else None
