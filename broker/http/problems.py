"""RFC 9457 problem responses built from the numbered error catalogue.

Every error the API gives has the same shape: ``type`` (stable URI per error), ``title``, ``status``,
``detail``, ``code`` (``DSVE-nnnn``), ``instance`` (the request path) and, where a document was checked,
``errors``: every issue with line, column, path and message. Clients branch on ``type`` or ``code``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from broker.domain.errors import PROBLEM_BASE, Error, Issue, Refusal, Unavailable, store_unavailable
from broker.http.client_faults import client_fault
from broker.http.json_body import json_response
from broker.store.outages import note_store_outage

PROBLEM_CONTENT_TYPE = "application/problem+json"
log = logging.getLogger("broker.http")

# Which catalogue error a request was refused with, for the metrics and refusal-recording middlewares outside.
REFUSAL_KEY = web.RequestKey("refusal", Error)

# Errors that come from aiohttp itself (unknown route, wrong method) mapped onto catalogue-shaped problems.
_HTTP_ERRORS = {404: Error.NOT_FOUND, 413: Error.TOO_LARGE, 400: Error.MALFORMED_REQUEST}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem_body(
    error: Error,
    detail: str = "",
    instance: str = "",
    issues: list[Issue] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    spec = error.spec
    body: dict[str, Any] = {
        "type": spec.type_uri,
        "title": spec.title,
        "status": spec.status,
        "detail": detail or spec.title,
        "code": spec.code,
        "instance": instance,
    }
    if issues:
        body["errors"] = [issue.as_dict() for issue in issues]
    body.update(extra or {})
    return body


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> web.Response:
    return json_response(body, status=int(body["status"]), headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def refusal_response(refusal: Refusal, request: web.Request) -> web.Response:
    extra: dict[str, Any] = {}
    headers: dict[str, str] | None = None
    if refusal.error is Error.INVALID_GRANT:
        extra["error"] = "invalid_grant"  # what an OAuth client library looks for (RFC 6749 §5.2)
    if refusal.error.spec.status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="dsve"'}
    body = problem_body(refusal.error, refusal.detail, request.path, refusal.issues, extra)
    return problem_response(body, headers)


def unavailable_response(unavailable: Unavailable, request: web.Request) -> web.Response:
    """503 with ``Retry-After``: the client may send the same request again then."""
    body = problem_body(unavailable.error, unavailable.detail, request.path)
    return problem_response(body, {"Retry-After": str(unavailable.retry_after_s)})


def http_error_response(exc: web.HTTPException, request: web.Request) -> web.Response:
    error = _HTTP_ERRORS.get(exc.status)
    if error is not None:
        body = problem_body(error, error.spec.title, request.path)
    else:
        body = {
            "type": f"{PROBLEM_BASE}http-{exc.status}",
            "title": exc.reason,
            "status": exc.status,
            "detail": exc.reason,
            "code": f"HTTP-{exc.status}",
            "instance": request.path,
        }
    headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
    return problem_response(body, headers)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turns refusals, aiohttp's HTTP errors and unexpected failures into problem+json answers."""
    try:
        return await handler(request)
    except Refusal as refusal:
        request[REFUSAL_KEY] = refusal.error
        response = refusal_response(refusal, request)
        if refusal.error is Error.BODY_TIMEOUT:
            client_fault(request, refusal)  # logged once, at INFO
            response.force_close()
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        error = _HTTP_ERRORS.get(exc.status)
        if error is not None:
            request[REFUSAL_KEY] = error  # answered with a catalogue error, so counted as one
        return http_error_response(exc, request)
    except Unavailable as unavailable:
        return unavailable_response(unavailable, request)
    except Exception as exc:
        fault = client_fault(request, exc)
        if fault is not None:
            request[REFUSAL_KEY] = fault.error
            response = refusal_response(fault, request)
            response.force_close()
            return response
        if note_store_outage(exc):
            return unavailable_response(store_unavailable(), request)
        log.exception("unhandled error", extra={"path": request.path, "method": request.method})
        body = problem_body(
            Error.INTERNAL_ERROR, "The broker failed to handle the request; it has been logged.", request.path
        )
        return problem_response(body)
