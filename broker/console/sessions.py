"""Console sessions: a random id in a signed, HttpOnly, SameSite=Strict cookie, and a row in the store.

The cookie holds only the session id, signed with the console secret (itsdangerous); the store holds the
sha256 of that id with the user and the session's CSRF token. Signing out deletes the row, so a copied
cookie is worthless afterwards; a cookie older than the session lifetime fails its signature check.

The sign-in form has no session yet: its CSRF token is a random value the form carries, matched against
the same value in a short-lived signed cookie (double submit), so a cross-site form cannot sign a visitor in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from aiohttp import web
from itsdangerous import BadSignature

from broker.console.context import ConsoleContext, Viewer
from broker.store.console_user_repository import ConsoleUser, ConsoleUserRepository
from broker.store.unit_of_work import UnitOfWork

SESSION_COOKIE = "dsve_console"
SIGN_IN_COOKIE = "dsve_console_signin"
COOKIE_PATH = "/console"
SIGN_IN_TOKEN_MAX_AGE_S = 3600


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


def tokens_match(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


async def start_session(ctx: ConsoleContext, user: ConsoleUser) -> str:
    """A new session for ``user``; returns the signed cookie value."""
    session_id = secrets.token_urlsafe(32)
    now = ctx.clock()
    async with UnitOfWork(ctx.engine) as uow:
        await ConsoleUserRepository(uow.connection).start_session(
            _hash(session_id), user.username, secrets.token_urlsafe(32), now, now + ctx.options.session_lifetime
        )
        await uow.commit()
    return ctx.sessions.dumps(session_id)


async def load_viewer(ctx: ConsoleContext, cookie_value: str | None) -> Viewer | None:
    """The user whose live session the cookie names; None for no cookie, a forged or old one, or an ended one."""
    if not cookie_value:
        return None
    try:
        session_id = ctx.sessions.loads(cookie_value, max_age=int(ctx.options.session_lifetime.total_seconds()))
    except BadSignature:
        return None
    if not isinstance(session_id, str):
        return None
    id_hash = _hash(session_id)
    async with UnitOfWork(ctx.engine) as uow:
        found = await ConsoleUserRepository(uow.connection).session_user(id_hash, ctx.clock())
    if found is None:
        return None
    session, user = found
    return Viewer(user.username, user.role, user.orgnr, session.csrf_token, id_hash)


async def end_session(ctx: ConsoleContext, viewer: Viewer) -> None:
    async with UnitOfWork(ctx.engine) as uow:
        await ConsoleUserRepository(uow.connection).end_session(viewer.session_hash)
        await uow.commit()


def _set_cookie(response: web.StreamResponse, request: web.Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )


def set_session_cookie(response: web.StreamResponse, request: web.Request, ctx: ConsoleContext, value: str) -> None:
    _set_cookie(response, request, SESSION_COOKIE, value, int(ctx.options.session_lifetime.total_seconds()))


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path=COOKIE_PATH)


def issue_sign_in_token(ctx: ConsoleContext) -> tuple[str, str]:
    """A CSRF token for the sign-in form and the signed cookie value that binds it to the visitor."""
    token = secrets.token_urlsafe(32)
    return token, ctx.sign_in_tokens.dumps(token)


def set_sign_in_cookie(response: web.StreamResponse, request: web.Request, value: str) -> None:
    _set_cookie(response, request, SIGN_IN_COOKIE, value, SIGN_IN_TOKEN_MAX_AGE_S)


def sign_in_token_ok(ctx: ConsoleContext, request: web.Request, given: str | None) -> bool:
    try:
        expected = ctx.sign_in_tokens.loads(request.cookies.get(SIGN_IN_COOKIE, ""), max_age=SIGN_IN_TOKEN_MAX_AGE_S)
    except BadSignature:
        return False
    return isinstance(expected, str) and tokens_match(expected, given)
