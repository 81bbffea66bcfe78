"""``/api/v1/participants``: capability lookup (role, name, types sent and received)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from broker.app_keys import SERVICES
from broker.auth.access_tokens import SCOPE_RECEIVE, SCOPE_SEND
from broker.domain.participants import Participant
from broker.http.auth import requires
from broker.http.json_body import json_response
from broker.usecases.participant_lookup import find_participant, list_participants

routes = web.RouteTableDef()


def participant_json(participant: Participant) -> dict[str, Any]:
    return {
        "orgnr": participant.orgnr,
        "role": participant.role.value,
        "name": participant.name,
        "sends": sorted(participant.sends),
        "receives": sorted(participant.receives),
        "active": participant.active,
    }


@routes.get("/api/v1/participants")
@requires(SCOPE_SEND, SCOPE_RECEIVE)
async def participants(request: web.Request) -> web.Response:
    found = await list_participants(request.app[SERVICES])
    return json_response({"items": [participant_json(p) for p in found]})


@routes.get("/api/v1/participants/{orgnr}")
@requires(SCOPE_SEND, SCOPE_RECEIVE)
async def participant(request: web.Request) -> web.Response:
    found = await find_participant(request.app[SERVICES], request.match_info["orgnr"])
    return json_response(participant_json(found))
