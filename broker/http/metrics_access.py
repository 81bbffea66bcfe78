"""Who may read ``/metrics``: nobody on the API listener unless the operator says so.

The counts per route, message type and status tell an outsider how the broker is used, so they are not
served to anyone who asks. Two ways to expose them: a bearer token (``DSVE_METRICS_TOKEN``) that the
scraper sends to ``/metrics`` on the API listener, or a listener of their own (``DSVE_METRICS_LISTEN``,
``host:port``), reachable only where the operator binds it, with the API's ``/metrics`` answering 404.
With neither, ``/metrics`` answers 404.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from broker.app_keys import METRICS, SCRAPE_HOOKS
from broker.http.metrics import METRICS_CONTENT_TYPE

log = logging.getLogger("broker.http")


async def exposition(app: web.Application) -> web.Response:
    for hook in app[SCRAPE_HOOKS]:
        await hook()
    return web.Response(body=app[METRICS].exposition(), headers={"Content-Type": METRICS_CONTENT_TYPE})


def metrics_listener(host: str, port: int) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context serving the broker's ``/metrics`` on a listener of its own while the app runs."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        async def scrape(_: web.Request) -> web.Response:
            return await exposition(app)

        side = web.Application()
        side.router.add_get("/metrics", scrape)
        runner = web.AppRunner(side, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        log.info("metrics listening", extra={"host": host, "port": port})
        try:
            yield
        finally:
            await runner.cleanup()

    return run
