"""Bearer-token authentication for the API.

A handler states what it needs with ``@requires(...)``; the middleware reads that mark from the matched
route, so an unmarked handler is public and a marked one can never run without a valid token. The
authenticated ``Caller`` is put on the request for the handler; every query is scoped to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from broker.auth.access_tokens import AccessTokens, Caller
from broker.domain.errors import Error, Refusal

H = TypeVar("H", bound=Handler)

CALLER_KEY = web.RequestKey("caller", Caller)
_REQUIRED_ATTR = "dsve_required_scopes"
_CONFIRMED_AT_STORE_ATTR = "dsve_caller_confirmed_at_store"


def requires(*any_of: str, confirmed_at_store: bool = False) -> Callable[[H], H]:
    """Mark a handler as needing a token with at least one of ``any_of`` (or just a token, when empty).

    ``confirmed_at_store``: the handler stores a submission whose sender is the caller, and the store
    applies the registry rules to it as it commits, so the caller check may answer from the registry cache
    without reading the registry's change counter first (``caller_check``)."""

    def mark(handler: H) -> H:
        setattr(handler, _REQUIRED_ATTR, frozenset(any_of))
        setattr(handler, _CONFIRMED_AT_STORE_ATTR, confirmed_at_store)
        return handler

    return mark


def _mark(request: web.Request, name: str) -> object:
    return getattr(getattr(request.match_info.route, "handler", None), name, None)


def required_scopes(request: web.Request) -> frozenset[str] | None:
    """The scopes the matched route needs, or None when it is public."""
    scopes = _mark(request, _REQUIRED_ATTR)
    return scopes if isinstance(scopes, frozenset) else None


def caller_of(request: web.Request) -> Caller:
    caller = request.get(CALLER_KEY)
    if not isinstance(caller, Caller):
        raise Refusal(Error.TOKEN_MISSING, "this resource needs a bearer token")
    return caller


def _bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refusal(Error.TOKEN_MISSING, "send an access token: Authorization: Bearer <token>")
    return token.strip()


# Whether an orgnr is still an active participant (disabling one takes effect on its next request); the
# second argument: the handler's store confirms it (``requires(confirmed_at_store=True)``).
ActiveCheck = Callable[[str, bool], Awaitable[bool]]


def auth_middleware(tokens: AccessTokens, is_active: ActiveCheck) -> Middleware:
    """Authenticates requests to marked routes before their handler (and before any body is read)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        needed = required_scopes(request)
        if needed is not None:
            caller = tokens.authenticate(_bearer_token(request))
            if not await is_active(caller.orgnr, _mark(request, _CONFIRMED_AT_STORE_ATTR) is True):
                raise Refusal(Error.TOKEN_INVALID, f"participant {caller.orgnr} is not active")
            if needed and not needed & caller.scopes:
                raise Refusal(Error.SCOPE_MISSING, f"this needs the scope {' or '.join(sorted(needed))}")
            request[CALLER_KEY] = caller
        return await handler(request)

    return middleware
