"""Every resource module's routes, in one place, so the app and the OpenAPI test see the same list."""

from __future__ import annotations

from aiohttp import web

from broker.http import (
    cases,
    file_transfers,
    health,
    messages,
    openapi,
    participants,
    resources,
    schemas,
    tokens,
    tus,
    validate,
    webhooks,
)

ROUTE_TABLES: tuple[web.RouteTableDef, ...] = (
    tokens.routes,
    messages.routes,
    cases.routes,
    participants.routes,
    schemas.routes,
    validate.routes,
    webhooks.routes,
    health.routes,
    openapi.routes,
    file_transfers.routes,
    resources.routes,
    tus.routes,
)


def add_routes(app: web.Application) -> None:
    for table in ROUTE_TABLES:
        app.add_routes(table)
