"""The middleware that hands each refusal answered as problem+json to the ``RefusalLog``.

It sits outside ``problem_middleware`` and reads the mark that middleware leaves (``REFUSAL_KEY``), the same
way the metrics do, so the console's counts and the Prometheus counter see the same refusals.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from broker.domain.errors import Error
from broker.http.problems import REFUSAL_KEY
from broker.refusals import RefusalLog


def refusal_recording_middleware(
    refusals: RefusalLog,
) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        finally:
            refusal = request.get(REFUSAL_KEY)
            if isinstance(refusal, Error):
                refusals.record(refusal)

    return middleware
