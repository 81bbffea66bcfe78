"""Sign-in and sign-out."""

from __future__ import annotations

import re

from aiohttp import web

from broker.console.rendering import redirect, render
from broker.console.request_context import console_of, viewer_of
from broker.console.sessions import (
    clear_session_cookie,
    end_session,
    issue_sign_in_token,
    set_session_cookie,
    set_sign_in_cookie,
    start_session,
)
from broker.console.sign_in import sign_in
from broker.http.client_faults import read_form

routes = web.RouteTableDef()

HOME = "/console/"


# Printable ASCII without the backslash: a path with a query, percent-encoded where it needs to be. Control
# characters (CR, LF) would end the Location header; aiohttp then drops the connection after the session
# was created.
_PATH_CHARACTERS = re.compile(r"/console/[!-\[\]-~]*")


def _safe_next(value: str | None) -> str:
    """Only a path inside the console: ``next`` must never send a visitor to another site or split a header."""
    if value and _PATH_CHARACTERS.fullmatch(value):
        return value
    return HOME


def _form(request: web.Request, *, status: int = 200, error: str = "", username: str = "") -> web.Response:
    token, cookie = issue_sign_in_token(console_of(request))
    page = render(
        request,
        "sign_in.html",
        status=status,
        csrf_token=token,
        error=error,
        username=username,
        next=_safe_next(request.query.get("next")),
    )
    set_sign_in_cookie(page, request, cookie)
    return page


@routes.get("/login")
async def sign_in_page(request: web.Request) -> web.Response:
    return _form(request)


@routes.post("/login")
async def sign_in_submit(request: web.Request) -> web.Response:
    ctx = console_of(request)
    form = await read_form(request)  # read (and checked) by the CSRF gate already
    username = str(form.get("username", ""))
    outcome = await sign_in(ctx, username, str(form.get("password", "")), request.remote or "unknown")
    if outcome.retry_after_s:
        page = _form(
            request,
            status=429,
            username=username,
            error=f"Too many failed attempts. Wait {outcome.retry_after_s} seconds before trying again.",
        )
        page.headers["Retry-After"] = str(outcome.retry_after_s)
        return page
    if outcome.user is None:
        return _form(request, status=401, username=username, error="Wrong username or password.")
    response = redirect(_safe_next(str(form.get("next", ""))))
    set_session_cookie(response, request, ctx, await start_session(ctx, outcome.user))
    return response


@routes.post("/logout")
async def sign_out(request: web.Request) -> web.Response:
    await end_session(console_of(request), viewer_of(request))
    response = redirect("/console/login")
    clear_session_cookie(response)
    return response
