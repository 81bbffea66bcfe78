"""File transfers beside messages: the list, and one transfer with each recipient's status, the histories
and the events told about it, scoped to the viewer's organisation as the API scopes them."""

from __future__ import annotations

from aiohttp import web

from broker.console.rendering import not_found, render
from broker.console.request_context import console_of, viewer_of
from broker.store.console_transfer_queries import ConsoleTransferQueries
from broker.store.unit_of_work import UnitOfWork

routes = web.RouteTableDef()


@routes.get("/transfers")
async def transfers(request: web.Request) -> web.Response:
    ctx = console_of(request)
    async with UnitOfWork(ctx.engine) as uow:
        found = await ConsoleTransferQueries(uow.connection, viewer_of(request).scope).transfers()
        participants = {p.orgnr: p for p in await uow.participants.list()}
    return render(request, "transfers.html", transfers=found, participants=participants)


@routes.get("/transfers/{id}")
async def transfer(request: web.Request) -> web.Response:
    ctx = console_of(request)
    async with UnitOfWork(ctx.engine) as uow:
        queries = ConsoleTransferQueries(uow.connection, viewer_of(request).scope)
        found = await queries.transfer(request.match_info["id"])
        if found is None:
            return not_found(request)
        history = await queries.history(found)
        events = await queries.events(found)
        participants = {p.orgnr: p for p in await uow.participants.list()}
    return render(request, "transfer.html", transfer=found, history=history, events=events, participants=participants)
