"""Dead letters: messages a recipient could not handle; an operator may inspect and re-deliver them.

Re-delivery takes two steps: a confirmation page, then the POST that does it (``broker.usecases.redelivery``).
"""

from __future__ import annotations

from aiohttp import web

from broker.app_keys import SERVICES
from broker.console.rendering import error_page, not_found, redirect, render
from broker.console.request_context import console_of, viewer_of
from broker.domain.lifecycle import MessageStatus
from broker.store.console_message_queries import ConsoleMessageQueries
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.redelivery import redeliver

routes = web.RouteTableDef()


@routes.get("/dead-letters")
async def dead_letters(request: web.Request) -> web.Response:
    ctx = console_of(request)
    async with UnitOfWork(ctx.engine) as uow:
        found = await ConsoleMessageQueries(uow.connection, viewer_of(request).scope).dead_letters()
    return render(request, "dead_letters.html", messages=found, done=request.query.get("done", ""))


def _operator_only(request: web.Request) -> web.Response | None:
    if viewer_of(request).is_operator:
        return None
    return error_page(request, 403, "Not allowed", "Only an operator may re-deliver messages.")


@routes.get("/dead-letters/{id}/redeliver")
async def confirm_redelivery(request: web.Request) -> web.Response:
    refused = _operator_only(request)
    if refused is not None:
        return refused
    ctx = console_of(request)
    async with UnitOfWork(ctx.engine) as uow:
        queries = ConsoleMessageQueries(uow.connection, None)
        message = await queries.message(request.match_info["id"])
        if message is None or message.status is not MessageStatus.DEAD_LETTERED:
            return not_found(request)
        history = (await queries.histories([message.id]))[message.id]
    return render(request, "redeliver.html", message=message, history=history)


@routes.post("/dead-letters/{id}/redeliver")
async def do_redelivery(request: web.Request) -> web.Response:
    refused = _operator_only(request)
    if refused is not None:
        return refused
    message_id = request.match_info["id"]
    if not await redeliver(request.config_dict[SERVICES], message_id, viewer_of(request).username):
        return error_page(request, 409, "Not re-delivered", "The message is no longer dead-lettered.")
    return redirect(f"/console/dead-letters?done={message_id}")
