"""A client's mistakes stay the client's: answered 4xx, logged once at INFO or WARNING, no traceback.

Three kinds reach the server's code. A client that disconnects while its body is read makes the read raise
``ConnectionError``; a body the HTTP parser finds broken (a bad chunk, fewer bytes than declared) raises
aiohttp's ``HttpProcessingError``; a body that does not arrive in time is cut off by the deadline below.
aiohttp itself logs a request it cannot parse at all as an ERROR with a traceback; the log filter here
turns those records into one WARNING line.

The body deadline bounds how long a request may hold a connection and a handler while its body trickles
in (a slow-loris client that declares 5,000 bytes and sends three): when it passes, the body stream is
failed with a refusal, so whichever handler is reading (messages, the token grant, the console's forms)
answers 408 and the connection is closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler, Middleware
from multidict import MultiDictProxy

from broker.domain.errors import Error, Refusal

log = logging.getLogger("broker.http")

_AIOHTTP_SERVER_LOGGER = "aiohttp.server"
H = TypeVar("H", bound=Callable[[web.Request], Awaitable[web.StreamResponse]])


def client_fault(request: web.Request, exc: BaseException) -> Refusal | None:
    """The refusal for an exception that is the client's doing, logged once; None for anything else.

    A ``ConnectionError`` counts as the client's only when the client's own connection is gone: the same
    exception from the database or RabbitMQ is an outage, not a client's mistake.
    """
    if isinstance(exc, Refusal) and exc.error is Error.BODY_TIMEOUT:
        log.info("request body too slow", extra={"path": request.path, "method": request.method})
        return exc
    if isinstance(exc, HttpProcessingError):
        detail = f"the request body is malformed: {exc.message or type(exc).__name__}"
        log.info("malformed request body", extra={"path": request.path, "method": request.method, "reason": detail})
        return Refusal(Error.MALFORMED_REQUEST, detail)
    if isinstance(exc, ConnectionError):
        transport = request.transport
        if transport is None or transport.is_closing():
            log.info("client closed the connection mid-request", extra={"path": request.path, "method": request.method})
            return Refusal(Error.CLIENT_CLOSED, "the client closed the connection before the request was complete")
    return None


async def read_form(request: web.Request) -> MultiDictProxy[str | bytes | bytearray | web.FileField]:
    """The request's form, or a 400 refusal when its bytes are not what its content type says.

    aiohttp decodes a urlencoded form strictly (UnicodeDecodeError on bytes that are not the charset) and
    raises ValueError or AssertionError on a broken multipart body: the client's mistakes, not the broker's.
    """
    try:
        return await request.post()
    except (UnicodeDecodeError, ValueError, AssertionError) as exc:
        detail = f"the form cannot be read: {type(exc).__name__}"
        log.info("malformed form", extra={"path": request.path, "method": request.method, "reason": detail})
        raise Refusal(Error.MALFORMED_REQUEST, detail) from None


def _expire(request: web.Request, timeout_s: float) -> None:
    stream = request.content
    if not stream.is_eof() and stream.exception() is None:
        detail = f"the request body did not arrive within {timeout_s:g} seconds"
        stream.set_exception(Refusal(Error.BODY_TIMEOUT, detail))


_STREAMS_BODY_ATTR = "dsve_streams_body"


def streams_body(handler: H) -> H:
    """Mark a handler that streams a body of any length (a file transfer's upload): no deadline for the whole
    body applies to it; the handler bounds each read instead (a stalled body is cut off, a long one is not)."""
    setattr(handler, _STREAMS_BODY_ATTR, True)
    return handler


def _streams_body(request: web.Request) -> bool:
    return bool(getattr(getattr(request.match_info.route, "handler", None), _STREAMS_BODY_ATTR, False))


def body_deadline_middleware(timeout_s: float) -> Middleware:
    """Fails the body stream of a request whose body is not complete ``timeout_s`` after its headers."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if timeout_s <= 0 or not request.body_exists or request.content.is_eof() or _streams_body(request):
            return await handler(request)
        timer = asyncio.get_running_loop().call_later(timeout_s, _expire, request, timeout_s)
        try:
            response = await handler(request)
        finally:
            timer.cancel()
        if not request.content.is_eof():
            response.force_close()  # the rest of the body is not worth waiting for
        return response

    return middleware


class _ClientErrorRecords(logging.Filter):
    """aiohttp's own records of requests it could not parse or clients that left: one line, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError | ConnectionError):
            reason = exc.message if isinstance(exc, HttpProcessingError) else str(exc)
            record.msg = "malformed HTTP request refused: %s"
            record.args = (reason or type(exc).__name__,)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


_FILTER = _ClientErrorRecords()


def quiet_client_errors() -> None:
    """Install the filter on aiohttp's server logger (idempotent)."""
    logger = logging.getLogger(_AIOHTTP_SERVER_LOGGER)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
