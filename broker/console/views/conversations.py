"""DSVE conversations of the official profile: each bank case with its messages and every rule's verdict.

A participant's staff see only the conversations and messages their organisation sent or received; another
organisation's conversation is "not found", never "forbidden".
"""

from __future__ import annotations

from aiohttp import web

from broker.console.rendering import not_found, render
from broker.console.request_context import console_of, viewer_of
from broker.usecases.conversation_checks import conversation, recent_conversations

routes = web.RouteTableDef()


@routes.get("/conversations")
async def conversations(request: web.Request) -> web.Response:
    ctx = console_of(request)
    found = await recent_conversations(ctx.engine, viewer_of(request).scope)
    rows = [(key.partition("/")[0], key.partition("/")[2], count, broken) for key, count, broken in found]
    return render(request, "conversations.html", rows=rows)


@routes.get("/conversations/{bank}/{reference:.+}")
async def one_conversation(request: web.Request) -> web.Response:
    ctx = console_of(request)
    bank, reference = request.match_info["bank"], request.match_info["reference"]
    messages = await conversation(ctx.engine, f"{bank}/{reference}", viewer_of(request).scope)
    if not messages:
        return not_found(request)
    broken = sorted({result.rule for m in messages for result in m.results if not result.holds})
    return render(request, "conversation.html", bank=bank, reference=reference, messages=messages, broken=broken)
