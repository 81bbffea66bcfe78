"""Property-based checks of the API against its own OpenAPI description (schemathesis): whatever a
client sends within (or just outside) the description, the broker never answers 5xx, and its answers
match the described status codes and schemas.

The broker runs in a thread of its own with its own event loop, because schemathesis calls it with a
blocking HTTP client. Examples are bounded so the whole module stays within a few seconds per route.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from broker.app import create_app
from broker.app_keys import SERVICES
from broker.http.openapi import openapi_document
from broker.xml.pki import TestPki
from participants.sdk.tokens import JWT_BEARER_GRANT, build_grant_assertion
from tests.http.conftest import AUDIENCE, BANK, broker_settings, register_demo

# TUS PATCH bodies are raw bytes under their own media type.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
schema = schemathesis.openapi.from_dict(openapi_document())


class LiveBroker:
    """A broker serving on a loopback port from a background thread."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app, access_log=None)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.thread = threading.Thread(target=self.loop.run_forever, name="live broker", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def start(self) -> None:
        self.thread.start()
        self.run(self.runner.setup())
        self.run(web.TCPSite(self.runner, "127.0.0.1", self.port).start())

    def stop(self) -> None:
        self.run(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def live_broker(tmp_path_factory: pytest.TempPathFactory, test_pki: TestPki) -> Iterator[LiveBroker]:
    directory: Path = tmp_path_factory.mktemp("live-broker")
    app = create_app(broker_settings(directory, f"sqlite+aiosqlite:///{directory / 'broker.db'}", test_pki))
    live = LiveBroker(app)
    live.start()
    live.run(register_demo(app[SERVICES], test_pki))
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def bearer(live_broker: LiveBroker, test_pki: TestPki) -> dict[str, str]:
    scope = "dsve:send dsve:receive altinn:broker.write altinn:broker.read"
    assertion = build_grant_assertion(BANK, test_pki.enterprise[BANK].load(), AUDIENCE, scope=scope)
    response = requests.post(
        f"{live_broker.base_url}/token", data={"grant_type": JWT_BEARER_GRANT, "assertion": assertion}, timeout=10
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_server_errors(case: Any, live_broker: LiveBroker, bearer: dict[str, str]) -> None:
    headers = bearer if case.operation.path != "/token" else {}
    case.call_and_validate(
        base_url=live_broker.base_url,
        headers=headers,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
