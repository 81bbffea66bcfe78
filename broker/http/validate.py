"""``POST /api/v1/validate``: the whole submit pipeline without storing; answers a report, not an error."""

from __future__ import annotations

from aiohttp import web

from broker.app_keys import SERVICES
from broker.auth.access_tokens import SCOPE_SEND
from broker.http.auth import caller_of, requires
from broker.http.body import read_limited, require_xml
from broker.http.json_body import json_response
from broker.usecases.validate_only import validate_message

routes = web.RouteTableDef()


@routes.post("/api/v1/validate")
@requires(SCOPE_SEND)
async def validate(request: web.Request) -> web.Response:
    caller = caller_of(request)
    services = request.app[SERVICES]
    require_xml(request)
    data = await read_limited(request, services.settings.limits.max_bytes)
    outcome = await validate_message(services, caller.orgnr, data)
    body = {
        "valid": outcome.valid,
        "message_type": outcome.message_type,
        "errors": [issue.as_dict() for issue in outcome.issues],
    }
    if outcome.error is not None:
        spec = outcome.error.spec
        body.update({"type": spec.type_uri, "code": spec.code, "title": spec.title, "detail": outcome.detail})
    return json_response(body)
