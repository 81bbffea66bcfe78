"""A webhook receiver for the tests: a real HTTP server on loopback that checks what it is sent.

It verifies each delivery's Standard Webhooks signature with its own HMAC code (not the broker's), reads the
body with the CloudEvents SDK, and can be taken down (connections refused) or made to fail (503).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import socket
import time
from typing import Any

from aiohttp import web

from tests.events.cloud_events import parsed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    def __init__(self, *, delay_s: float = 0.0) -> None:
        self.port = _free_port()
        self.secrets: dict[str, str] = {}  # path -> secret
        self.events: dict[str, list[dict[str, Any]]] = {}  # path -> CloudEvents in the order received
        self.webhook_ids: dict[str, list[str]] = {}
        self.failing = False
        self.refused = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.delay_s = delay_s
        self._runner: web.AppRunner | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def up(self) -> None:
        app = web.Application()
        app.router.add_post("/{name}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def down(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            body = await request.read()
            if self.failing:
                self.refused += 1
                return web.Response(status=503)
            secret = self.secrets[request.path]
            webhook_id = request.headers["webhook-id"]
            timestamp = request.headers["webhook-timestamp"]
            assert abs(time.time() - int(timestamp)) < 300
            key = base64.b64decode(secret.removeprefix("whsec_"))
            expected = base64.b64encode(
                hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
            ).decode()
            offered = [s.split(",", 1)[1] for s in request.headers["webhook-signature"].split() if s.startswith("v1,")]
            if not any(hmac.compare_digest(expected, s) for s in offered):
                return web.Response(status=401)
            assert request.headers["Content-Type"] == "application/cloudevents+json"
            event = parsed(body, {"content-type": request.headers["Content-Type"]})
            assert event["id"] == webhook_id
            self.events.setdefault(request.path, []).append(event)
            self.webhook_ids.setdefault(request.path, []).append(webhook_id)
            return web.Response(status=204)
        finally:
            self.in_flight -= 1
