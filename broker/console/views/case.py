"""A case: its messages drawn as a sequence diagram between the parties, each with its status history."""

from __future__ import annotations

import re

from aiohttp import web

from broker.console.rendering import not_found, render
from broker.console.request_context import console_of, viewer_of
from broker.console.sequence_diagram import layout
from broker.store.console_message_queries import ConsoleMessageQueries
from broker.store.unit_of_work import UnitOfWork

routes = web.RouteTableDef()

ORGNR = re.compile(r"^\d{9}$")


@routes.get("/cases/{reference}")
async def case(request: web.Request) -> web.Response:
    ctx = console_of(request)
    viewer = viewer_of(request)
    reference = request.match_info["reference"]
    orgnr = request.query.get("org", "").strip()
    if orgnr and not ORGNR.match(orgnr):
        return not_found(request)
    async with UnitOfWork(ctx.engine) as uow:
        queries = ConsoleMessageQueries(uow.connection, viewer.scope)
        if orgnr:
            messages = await queries.case(start=[(orgnr, reference)])
        else:
            messages = await queries.case(reference=reference)
        if not messages:
            return not_found(request)
        histories = await queries.histories([m.id for m in messages])
        participants = {p.orgnr: p for p in await uow.participants.list()}
    return render(
        request,
        "case.html",
        reference=reference,
        messages=messages,
        histories=histories,
        participants=participants,
        diagram=layout(messages, participants),
    )
