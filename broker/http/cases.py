"""``/api/v1/cases/{reference}``: every message of one case the caller may see, in order."""

from __future__ import annotations

from aiohttp import web

from broker.app_keys import SERVICES
from broker.auth.access_tokens import SCOPE_RECEIVE, SCOPE_SEND
from broker.http.auth import caller_of, requires
from broker.http.json_body import json_response
from broker.http.message_json import message_json
from broker.usecases.case_view import view_case

routes = web.RouteTableDef()


@routes.get("/api/v1/cases/{reference}")
@requires(SCOPE_SEND, SCOPE_RECEIVE)
async def case(request: web.Request) -> web.Response:
    caller = caller_of(request)
    reference = request.match_info["reference"]
    messages = await view_case(request.app[SERVICES], caller.orgnr, reference)
    return json_response({"reference": reference, "items": [message_json(m) for m in messages]})
