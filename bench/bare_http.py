"""The floor under any broker written on aiohttp: a server that reads each request and answers it, nothing else.

At an offered rate the broker's CPU per message has two parts no broker code can remove: what the HTTP
server costs per request at that rate on this machine (parse, a task, a response, the wake-ups between
requests), and what the process spends idle. ``bench.e2e --variants …,bare --rate R`` runs this server
under the same load generator, clients and rate as the other variants, so the floor is measured in the
same invocation as the figures it puts in proportion. Its answers count as deliveries (there is no
consumer): its "e2e" latency is the HTTP round trip.

    python -m bench.bare_http --port 8080
"""

from __future__ import annotations

import argparse

from aiohttp import web

ANSWER = b'{"status":"accepted"}'


async def _accept(request: web.Request) -> web.Response:
    await request.read()  # the body is read, as the broker must, and then dropped
    return web.Response(status=201, body=ANSWER, content_type="application/json")


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(body=b'{"status":"ok"}', content_type="application/json")


def create_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/healthz", _healthz)
    app.router.add_post("/{tail:.*}", _accept)
    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(create_app(), host="127.0.0.1", port=args.port, print=None, access_log=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
