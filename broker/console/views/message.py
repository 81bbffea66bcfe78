"""One message: routing fields, signer, size, sha256, status history and the XML made readable.

Personal numbers are masked; an operator may ask for them in full (a POST, so it needs the form's CSRF
token and never lands in a URL or browser history), and that request is logged with who and which
message, never the numbers.
"""

from __future__ import annotations

import logging

from aiohttp import web

from broker.console.rendering import error_page, not_found, render
from broker.console.request_context import console_of, viewer_of
from broker.console.xml_view import readable_xml
from broker.store.console_message_queries import ConsoleMessageQueries
from broker.store.unit_of_work import UnitOfWork

log = logging.getLogger("broker.console")
routes = web.RouteTableDef()


async def _page(request: web.Request, *, reveal: bool) -> web.Response:
    ctx = console_of(request)
    viewer = viewer_of(request)
    async with UnitOfWork(ctx.engine) as uow:
        queries = ConsoleMessageQueries(uow.connection, viewer.scope)
        message = await queries.message(request.match_info["id"])
        if message is None:
            return not_found(request)
        history = (await queries.histories([message.id]))[message.id]
        participants = {p.orgnr: p for p in await uow.participants.list()}
    xml = readable_xml(message.content, ctx.settings.limits, reveal=reveal) if message.content else None
    return render(request, "message.html", message=message, history=history, participants=participants, xml=xml)


@routes.get("/messages/{id}")
async def message_page(request: web.Request) -> web.Response:
    return await _page(request, reveal=False)


@routes.post("/messages/{id}/personal-numbers")
async def reveal_personal_numbers(request: web.Request) -> web.Response:
    viewer = viewer_of(request)
    if not viewer.is_operator:
        return error_page(request, 403, "Not allowed", "Only an operator may see personal numbers in full.")
    response = await _page(request, reveal=True)
    if response.status == 200:
        log.info(
            "console showed personal numbers in full",
            extra={"username": viewer.username, "message_id": request.match_info["id"]},
        )
    return response
