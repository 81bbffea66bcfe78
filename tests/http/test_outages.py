"""Outages answer 503 with Retry-After and a problem type of their own, readiness turns false, and the log
tells the outage in a few lines: no traceback, no SQL, nothing at ERROR."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bench.clusters import PostgresPair
from broker.app import create_app
from broker.app_keys import RELAY, SERVICES
from broker.xml.pki import TestPki
from tests.fixtures.tcp_proxy import TcpProxy
from tests.http.conftest import BANK, Broker, broker_settings, register_demo


def _problem_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Records that would be wrong during an expected outage: errors, tracebacks, SQL text."""
    bad = []
    for record in caplog.records:
        text = record.getMessage()
        if record.levelno >= logging.ERROR or record.exc_info or "[SQL:" in text or "INSERT INTO" in text:
            bad.append(f"{record.levelname} {record.name}: {text[:200]}")
    return bad


@pytest.mark.postgres
async def test_database_outage_answers_503_and_recovers(
    postgres_pair: PostgresPair,
    aiohttp_client: Any,
    tmp_path: Path,
    test_pki: TestPki,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(broker_settings(tmp_path, postgres_pair.primary_url, test_pki))
    client = await aiohttp_client(app)
    await register_demo(app[SERVICES], test_pki)
    broker = Broker(client, test_pki)
    headers = await broker.headers(BANK, **{"Content-Type": "application/xml"})
    first = await client.post("/api/v1/messages", data=broker.signed("intensjonFraBank"), headers=headers)
    assert first.status == 201, await first.text()

    caplog.clear()
    caplog.set_level(logging.INFO)
    postgres_pair.run("down", "primary")
    document = broker.signed("intensjonFraBank")
    for _ in range(5):
        refused = await client.post("/api/v1/messages", data=document, headers=headers)
        assert refused.status == 503, await refused.text()
        assert refused.headers["Retry-After"].isdigit()
        problem = await refused.json()
        assert problem["type"].endswith("/store-unavailable") and problem["code"] == "DSVE-7001"
    ready = await client.get("/readyz")
    assert ready.status == 503 and (await ready.json())["checks"]["store"] is False
    assert _problem_logs(caplog) == []
    outage_lines = [r for r in caplog.records if r.name == "broker.outage"]
    assert 1 <= len(outage_lines) <= 2, [r.getMessage() for r in outage_lines]

    postgres_pair.run("up", "primary")
    again = await client.post("/api/v1/messages", data=document, headers=headers)
    assert again.status in (200, 201), await again.text()
    assert (await client.get("/readyz")).status == 200
    assert _problem_logs(caplog) == []
    assert any("available again" in r.getMessage() for r in caplog.records if r.name == "broker.outage")


async def test_queue_outage_answers_503_once_the_backlog_is_full(
    amqp_url: str,
    amqp_prefix: str,
    aiohttp_client: Any,
    tmp_path: Path,
    test_pki: TestPki,
    caplog: pytest.LogCaptureFixture,
) -> None:
    target = urlsplit(amqp_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5672)
    port = await proxy.start()
    proxied = target._replace(netloc=f"{target.username}:{target.password}@127.0.0.1:{port}").geturl()
    settings = broker_settings(
        tmp_path,
        f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}",
        test_pki,
        amqp_url=proxied,
        amqp_prefix=amqp_prefix,
        outbox_high_water=3,
    )
    try:
        app = create_app(settings)
        client = await aiohttp_client(app)
        await register_demo(app[SERVICES], test_pki)
        broker = Broker(client, test_pki)
        headers = await broker.headers(BANK, **{"Content-Type": "application/xml"})
        assert (await client.get("/readyz")).status == 200

        caplog.clear()
        caplog.set_level(logging.INFO)
        await proxy.cut()
        statuses = []
        for _ in range(12):
            answer = await client.post("/api/v1/messages", data=broker.signed("intensjonFraBank"), headers=headers)
            statuses.append(answer.status)
            if answer.status == 503:
                assert answer.headers["Retry-After"].isdigit()
                assert (await answer.json())["code"] == "DSVE-7002"
            await asyncio.sleep(0.3)
        # Stored while the backlog has room (the relay publishes them later), refused once it is full.
        assert statuses[0] == 201 and statuses[-1] == 503, statuses
        assert statuses == sorted(statuses) and set(statuses) <= {201, 503}, statuses
        ready = await client.get("/readyz")
        assert ready.status == 503 and (await ready.json())["checks"]["transport"] is False

        await proxy.start()  # the same port again: the transport reconnects and the relay drains the backlog
        for _ in range(100):
            if (await client.get("/readyz")).status == 200 and await app[RELAY].backlog() == 0:
                break
            await asyncio.sleep(0.2)
        answer = await client.post("/api/v1/messages", data=broker.signed("intensjonFraBank"), headers=headers)
        assert answer.status == 201, await answer.text()
        assert _problem_logs(caplog) == []
        assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) <= 10, [
            f"{r.name}: {r.getMessage()[:120]}" for r in caplog.records if r.levelno >= logging.WARNING
        ]
    finally:
        await proxy.close()
