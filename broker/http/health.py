"""``/healthz`` (the process answers), ``/readyz`` (store and transport usable), ``/metrics`` (Prometheus)."""

from __future__ import annotations

from aiohttp import web

from broker.app_keys import METRICS_ACCESS, READINESS, SERVICES
from broker.http.json_body import json_response
from broker.http.metrics_access import exposition
from broker.usecases.readiness import store_ready

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    checks = {"store": await store_ready(request.app[SERVICES])}
    for check in request.app[READINESS]:
        name, ok = await check()
        checks[name] = ok
    ready = all(checks.values())
    body = {"status": "ready" if ready else "not ready", "checks": checks}
    return json_response(body, status=200 if ready else 503)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    request.app[METRICS_ACCESS].check_api_request(request)
    return await exposition(request.app)
