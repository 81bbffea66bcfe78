"""The console's gate: who is signed in, CSRF on every form, and safe headers on every answer.

Every page needs a signed-in user except the sign-in page and the stylesheet. Every POST must carry the
form's CSRF token: the session's token, or on the sign-in form the token bound to the visitor's sign-in
cookie. A POST from another origin is refused before its token is even looked at.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from broker.console.context import VIEWER, ConsoleContext
from broker.console.rendering import error_page, redirect
from broker.console.sessions import SESSION_COOKIE, load_viewer, sign_in_token_ok, tokens_match
from broker.domain.errors import Refusal
from broker.http.client_faults import client_fault, read_form
from broker.store.outages import note_store_outage

log = logging.getLogger("broker.console")


SIGN_IN_PATH = "/console/login"
STATIC_PREFIX = "/console/static/"
CSRF_FIELD = "csrf_token"
FORM_REFUSED = "The form did not come from this console or has expired. Reload the page and try again."

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make browsers send Origin: null on forms
    "X-Frame-Options": "DENY",
}


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    return origin is None or origin == f"{request.scheme}://{request.host}"


async def _csrf_ok(ctx: ConsoleContext, request: web.Request) -> bool:
    if not _same_origin(request):
        return False
    form = await read_form(request)
    given = form.get(CSRF_FIELD)
    token = given if isinstance(given, str) else None
    if request.path == SIGN_IN_PATH:
        return sign_in_token_ok(ctx, request, token)
    viewer = request.get(VIEWER)
    return viewer is not None and tokens_match(viewer.csrf_token, token)


def console_middleware(ctx: ConsoleContext) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await _gate(ctx, request, handler)
        except web.HTTPException as exc:  # aiohttp's own: no route, wrong method, body too large
            response = error_page(request, exc.status, exc.reason)
        except Refusal as refusal:  # a client's mistake: a form that cannot be read, a body too slow
            client_fault(request, refusal)
            response = error_page(request, refusal.error.spec.status, refusal.error.spec.title, refusal.detail)
        except Exception as exc:
            fault = client_fault(request, exc)
            if fault is not None:
                response = error_page(request, fault.error.spec.status, fault.error.spec.title, fault.detail)
                response.force_close()
            elif note_store_outage(exc):
                response = error_page(request, 503, "The database is unavailable", "Try again in a moment.")
                response.headers["Retry-After"] = "5"
            else:
                log.exception("console page failed", extra={"path": request.path, "method": request.method})
                response = error_page(request, 500, "Something went wrong", "The error has been logged.")
        if not request.path.startswith(STATIC_PREFIX):
            response.headers["Cache-Control"] = "no-store"
        response.headers.update(SECURITY_HEADERS)
        return response

    return middleware


async def _gate(ctx: ConsoleContext, request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(STATIC_PREFIX):
        return await handler(request)
    viewer = await load_viewer(ctx, request.cookies.get(SESSION_COOKIE))
    if viewer is not None:
        request[VIEWER] = viewer
    if request.method == "POST" and not await _csrf_ok(ctx, request):
        log.warning("console form refused: missing or wrong CSRF token", extra={"path": request.path})
        return error_page(request, 403, "Form refused", FORM_REFUSED)
    if viewer is None and request.path != SIGN_IN_PATH:
        if request.method in ("GET", "HEAD"):
            return redirect(f"{SIGN_IN_PATH}?next={quote(request.path_qs, safe='')}")
        return error_page(request, 403, "Signed out", "Sign in first.")
    return await handler(request)
