"""Webhook deliveries that kept failing (the dead-letter list of webhooks), with re-delivery.

An operator sees every participant's; a participant's staff see their organisation's, and may put its
deliveries back in line too: the endpoint is theirs, and so is knowing when it is fixed.
"""

from __future__ import annotations

from aiohttp import web

from broker.app_keys import SERVICES
from broker.console.rendering import not_found, redirect, render
from broker.console.request_context import viewer_of
from broker.usecases.webhook_subscriptions import dead_deliveries, redeliver

routes = web.RouteTableDef()


@routes.get("/webhooks")
async def dead_webhooks(request: web.Request) -> web.Response:
    found = await dead_deliveries(request.config_dict[SERVICES], viewer_of(request).scope)
    return render(request, "webhooks.html", deliveries=found, done=request.query.get("done", ""))


@routes.post("/webhooks/{id}/redeliver")
async def redeliver_webhook(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    # The same answer for no such delivery, another organisation's, and one no longer dead.
    if not raw.isdigit() or len(raw) > 18:
        return not_found(request)
    if not await redeliver(request.config_dict[SERVICES], int(raw), viewer_of(request).scope):
        return not_found(request)
    return redirect(f"/console/webhooks?done={raw}")
