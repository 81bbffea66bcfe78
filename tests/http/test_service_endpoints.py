"""OpenAPI (valid 3.1, every route described), health, readiness, metrics and the lifecycle."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from broker.app import create_app
from broker.app_keys import SERVICES
from broker.http.openapi import openapi_document
from broker.usecases.lifecycle import run_lifecycle_once
from broker.xml.pki import TestPki
from tests.http.conftest import BANK, MEGLER, Broker, broker_settings, register_demo
from tests.http.served import free_port

METRICS_TOKEN = "a-metrics-token-made-for-this-test"


@pytest.fixture
async def metrics_broker(aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> Broker:
    settings = broker_settings(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", test_pki, metrics_token=METRICS_TOKEN
    )
    app = create_app(settings)
    client = await aiohttp_client(app)
    await register_demo(app[SERVICES], test_pki)
    return Broker(client, test_pki)


def _served_routes(broker: Broker) -> set[tuple[str, str]]:
    served = set()
    for route in broker.client.app.router.routes():
        if route.method in ("HEAD", "OPTIONS"):
            continue
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        if path.startswith("/console"):
            continue  # the web console serves HTML pages, not the API that the OpenAPI document describes
        served.add((route.method.lower(), path))
    return served


async def test_openapi_is_valid_and_describes_every_route(sqlite_broker: Broker) -> None:
    response = await sqlite_broker.client.get("/api/openapi.json")
    assert response.status == 200
    document = await response.json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    described = {(method, path) for path, item in document["paths"].items() for method in item}
    # aiohttp names path parameters as the OpenAPI paths do, except where the schema spells them in camelCase.
    served = {(m, p.replace("{message_type}", "{messageType}")) for m, p in _served_routes(sqlite_broker)}
    assert served == described


def test_openapi_names_every_error_of_the_catalogue() -> None:
    from broker.domain.errors import Error

    description = openapi_document()["info"]["description"]
    assert all(error.spec.type_uri in description for error in Error)


async def test_health_readiness_and_metrics(metrics_broker: Broker) -> None:
    sqlite_broker = metrics_broker
    client = sqlite_broker.client
    assert (await (await client.get("/healthz")).json()) == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status == 200
    assert (await ready.json())["checks"] == {"store": True, "transport": True}

    assert (await sqlite_broker.send(BANK, sqlite_broker.signed("intensjonFraBank"))).status == 201
    assert (await sqlite_broker.send(BANK, b"<broken", content_type="application/xml")).status == 400
    metrics = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert metrics.status == 200
    text = await metrics.text()
    assert 'dsve_messages_total{message_type="intensjonFraBank",status="accepted"} 1.0' in text
    assert 'dsve_refusals_total{reason="xml-not-well-formed"} 1.0' in text
    assert 'route="/api/v1/messages",status="201"' in text
    assert "dsve_outbox_backlog" in text
    assert "dsve_http_request_duration_seconds_bucket" in text


async def test_unknown_routes_and_methods_are_problems(sqlite_broker: Broker) -> None:
    missing = await sqlite_broker.client.get("/nowhere")
    assert missing.status == 404 and missing.content_type == "application/problem+json"
    wrong = await sqlite_broker.client.delete("/api/v1/messages")
    assert wrong.status == 405 and wrong.content_type == "application/problem+json"


async def test_expiry_and_purge_are_recorded_with_time_and_actor(broker: Broker) -> None:
    sent = await broker.send(BANK, broker.signed("intensjonFraBank"))
    message = await sent.json()
    services = broker.services
    settings = services.settings
    real_clock = services.clock
    later = dataclasses.replace(services, clock=lambda: real_clock() + timedelta(seconds=settings.message_ttl_s + 1))
    first = await run_lifecycle_once(later)
    assert first.expired == 1 and first.purged == 0
    purge_due = settings.message_ttl_s + settings.retention_s + 2
    much_later = dataclasses.replace(services, clock=lambda: real_clock() + timedelta(seconds=purge_due))
    second = await run_lifecycle_once(much_later)
    assert second.purged == 1

    megler = await broker.headers(MEGLER)
    viewed = await (await broker.client.get(f"/api/v1/messages/{message['id']}", headers=megler)).json()
    history = viewed["history"]
    assert [h["status"] for h in history][-2:] == ["expired", "purged"]
    assert all(h["actor"] and h["at"] for h in history)
    gone = await broker.client.get(f"/api/v1/messages/{message['id']}/content", headers=megler)
    assert gone.status == 404
    late = await broker.client.post(f"/api/v1/messages/{message['id']}/confirm", headers=megler)
    assert late.status == 409


async def test_metrics_are_not_served_to_anyone_by_default(sqlite_broker: Broker) -> None:
    assert (await sqlite_broker.client.get("/metrics")).status == 404


async def test_metrics_behind_a_token_refuse_a_scrape_without_it(metrics_broker: Broker) -> None:
    client = metrics_broker.client
    assert (await client.get("/metrics")).status == 401
    assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status == 401
    assert (await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})).status == 200


async def test_metrics_on_a_listener_of_their_own(aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> None:
    port = free_port()
    settings = broker_settings(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", test_pki, metrics_listen=("127.0.0.1", port)
    )
    client = await aiohttp_client(create_app(settings))
    assert (await client.get("/metrics")).status == 404
    side = await client.session.get(f"http://127.0.0.1:{port}/metrics")
    assert side.status == 200 and "dsve_http_requests_total" in await side.text()


def test_the_metrics_listener_setting_is_checked() -> None:
    from broker.config import Settings

    assert Settings.from_env({"DSVE_METRICS_LISTEN": "0.0.0.0:9464"}).metrics_listen == ("0.0.0.0", 9464)
    with pytest.raises(ValueError, match="DSVE_METRICS_LISTEN"):
        Settings.from_env({"DSVE_METRICS_LISTEN": "9464"})
