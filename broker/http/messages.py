"""``/api/v1/messages``: submit, list, view, download and confirm."""

from __future__ import annotations

import base64
from datetime import datetime

from aiohttp import web

from broker.app_keys import METRICS, SERVICES
from broker.auth.access_tokens import SCOPE_RECEIVE, SCOPE_SEND
from broker.domain.errors import Error, Refusal
from broker.domain.lifecycle import MessageStatus
from broker.http.auth import caller_of, requires
from broker.http.body import read_limited, require_xml
from broker.http.json_body import json_response
from broker.http.message_json import decode_cursor, encode_cursor, message_json, view_json
from broker.usecases.confirm import confirm_message
from broker.usecases.download import download_content
from broker.usecases.intake import submit_message
from broker.usecases.listing import DEFAULT_PAGE, MAX_PAGE, ListQuery, list_messages, view_message

routes = web.RouteTableDef()
API = "/api/v1"


@routes.post(f"{API}/messages")
@requires(SCOPE_SEND, confirmed_at_store=True)
async def submit(request: web.Request) -> web.Response:
    caller = caller_of(request)
    services = request.app[SERVICES]
    require_xml(request)
    data = await read_limited(request, services.settings.limits.max_bytes)
    result = await submit_message(services, caller.orgnr, data)
    body = view_json(result.view)
    if not result.created:
        return json_response(body, status=200)
    request.app[METRICS].message_status(result.view.message.message_type, MessageStatus.ACCEPTED.value)
    return json_response(body, status=201, headers={"Location": body["links"]["self"]})


def _malformed(detail: str) -> Refusal:
    return Refusal(Error.MALFORMED_REQUEST, detail)


def _list_query(request: web.Request) -> ListQuery:
    params = request.query
    box = params.get("box", "inbox")
    if box not in ("inbox", "outbox"):
        raise _malformed("box must be inbox or outbox")
    status = None
    if "status" in params:
        try:
            status = MessageStatus(params["status"])
        except ValueError as exc:
            raise _malformed(f"status must be one of {', '.join(s.value for s in MessageStatus)}") from exc
    since = None
    if "since" in params:
        try:
            since = datetime.fromisoformat(params["since"].replace("Z", "+00:00").replace(" ", "+"))
        except ValueError as exc:
            raise _malformed("since must be an ISO 8601 date and time") from exc
        if since.tzinfo is None:
            raise _malformed("since must name its time zone (e.g. 2026-11-28T10:00:00+01:00)")
    limit = DEFAULT_PAGE
    if "limit" in params:
        raw = params["limit"]
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
            raise _malformed(f"limit must be a whole number from 1 to {MAX_PAGE}")
        limit = int(raw)
    return ListQuery(
        box="inbox" if box == "inbox" else "outbox",
        status=status,
        message_type=params.get("type") or None,
        reference=params.get("reference") or None,
        since=since,
        after_seq=decode_cursor(params["cursor"]) if params.get("cursor") else None,
        limit=limit,
    )


@routes.get(f"{API}/messages")
@requires(SCOPE_SEND, SCOPE_RECEIVE)
async def list_(request: web.Request) -> web.Response:
    caller = caller_of(request)
    page = await list_messages(request.app[SERVICES], caller.orgnr, _list_query(request))
    next_cursor = encode_cursor(page.next_after_seq) if page.next_after_seq is not None else None
    return json_response({"items": [message_json(m) for m in page.items], "next_cursor": next_cursor})


@routes.get(f"{API}/messages/{{id}}")
@requires(SCOPE_SEND, SCOPE_RECEIVE)
async def view(request: web.Request) -> web.Response:
    caller = caller_of(request)
    found = await view_message(request.app[SERVICES], caller.orgnr, request.match_info["id"])
    return json_response(view_json(found))


@routes.get(f"{API}/messages/{{id}}/content")
@requires(SCOPE_SEND, SCOPE_RECEIVE)
async def content(request: web.Request) -> web.Response:
    caller = caller_of(request)
    download = await download_content(request.app[SERVICES], caller.orgnr, request.match_info["id"])
    if download.became_downloaded:
        request.app[METRICS].message_status(download.message_type, MessageStatus.DOWNLOADED.value)
    return web.Response(
        body=download.content,
        content_type="application/xml",
        headers={"Repr-Digest": _repr_digest(download.sha256), "Cache-Control": "no-store"},
    )


def _repr_digest(sha256_hex: str) -> str:
    """RFC 9530 ``Repr-Digest``: lets a recipient check the bytes it got are the bytes that were signed."""
    return f"sha-256=:{base64.b64encode(bytes.fromhex(sha256_hex)).decode('ascii')}:"


@routes.post(f"{API}/messages/{{id}}/confirm")
@requires(SCOPE_RECEIVE)
async def confirm(request: web.Request) -> web.Response:
    caller = caller_of(request)
    confirmation = await confirm_message(request.app[SERVICES], caller.orgnr, request.match_info["id"])
    if confirmation.became_confirmed:
        message = confirmation.view.message
        request.app[METRICS].message_status(message.message_type, MessageStatus.CONFIRMED.value)
    return json_response(view_json(confirmation.view))
