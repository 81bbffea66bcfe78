"""``/api/v1/schemas``: the message catalogue and the XSD of each type. Public: the formats are no secret."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from broker.app_keys import SERVICES
from broker.domain.errors import Error, Refusal
from broker.http.json_body import json_response
from broker.xml.catalogue import MessageTypeSpec

routes = web.RouteTableDef()


def spec_json(spec: MessageTypeSpec) -> dict[str, Any]:
    return {
        "message_type": spec.name,
        "family": spec.family,
        "namespace": spec.namespace,
        "sender_roles": sorted(role.value for role in spec.sender_roles),
        "recipient_roles": sorted(role.value for role in spec.recipient_roles),
        "routing_paths": dict(spec.paths),
        "description": spec.description,
        "schema": f"/api/v1/schemas/{spec.name}",
    }


@routes.get("/api/v1/schemas")
async def schemas(request: web.Request) -> web.Response:
    catalogue = request.app[SERVICES].catalogue
    return json_response({"items": [spec_json(spec) for spec in catalogue]})


@routes.get("/api/v1/schemas/{message_type}")
async def schema(request: web.Request) -> web.Response:
    """The family XSD of one type; ``Accept: application/json`` gets the catalogue entry instead."""
    catalogue = request.app[SERVICES].catalogue
    name = request.match_info["message_type"]
    if name not in catalogue:
        raise Refusal(Error.NOT_FOUND, f"no message type {name} in the catalogue")
    if "application/json" in request.headers.get("Accept", "") and "xml" not in request.headers.get("Accept", ""):
        return json_response(spec_json(catalogue[name]))
    xsd = await asyncio.to_thread(catalogue.schema_bytes, name)
    return web.Response(body=xsd, content_type="application/xml")
