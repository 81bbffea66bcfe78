"""``POST /token``: the RFC 7523 JWT bearer grant, answered with an OAuth 2.0 token response."""

from __future__ import annotations

from aiohttp import web

from broker.app_keys import ACCESS_TOKENS, GRANT_POLICY, SERVICES, TRUST
from broker.auth.grant import JWT_BEARER_GRANT
from broker.domain.errors import Error, Refusal
from broker.http.auth import caller_of, requires
from broker.http.client_faults import read_form
from broker.http.json_body import json_response
from broker.usecases.token_grant import grant_token

routes = web.RouteTableDef()
MAX_FORM_BYTES = 64 * 1024


@routes.post("/token")
async def token(request: web.Request) -> web.Response:
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        raise Refusal(Error.INVALID_GRANT, "the token request is too large")
    if request.content_type != "application/x-www-form-urlencoded":
        raise Refusal(Error.INVALID_GRANT, "send the grant as application/x-www-form-urlencoded")
    form = await read_form(request)
    grant_type, assertion = form.get("grant_type"), form.get("assertion")
    if grant_type != JWT_BEARER_GRANT:
        raise Refusal(Error.INVALID_GRANT, f"grant_type must be {JWT_BEARER_GRANT}")
    if not isinstance(assertion, str) or not assertion:
        raise Refusal(Error.INVALID_GRANT, "the assertion (a signed JWT) is missing")
    app = request.app
    origin = f"{request.scheme}://{request.host}"
    origins = (origin, f"{origin}/", f"{origin}/token")
    issued = await grant_token(app[SERVICES], app[TRUST], app[ACCESS_TOKENS], app[GRANT_POLICY], assertion, origins)
    body = {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": issued.scope,
    }
    return json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@routes.get("/authentication/api/v1/exchange/maskinporten")
@requires()
async def exchange(request: web.Request) -> web.Response:
    """Altinn's token exchange: a client configured for Altinn swaps its token here for the broker's own. This
    broker's tokens serve for both, so the answer is a fresh token with the same organisation and scopes, as
    Altinn answers it: the token alone, as text."""
    caller = caller_of(request)
    issued = request.app[ACCESS_TOKENS].issue(caller.orgnr, tuple(sorted(caller.scopes)))
    return web.Response(text=issued.access_token, headers={"Cache-Control": "no-store"})
