"""``/events/api/v1/subscriptions``: a participant's webhook subscriptions (made, listed, deleted).

The shape follows Altinn Events' subscriptions (``endPoint``, ``resourceFilter``, ``typeFilter``), so a
client that subscribes there can subscribe here; ``typeFilter`` may also be a list. The signing secret is
answered once, when the subscription is made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from broker.app_keys import SERVICES
from broker.domain.errors import Error, Refusal
from broker.events.webhooks import WebhookSubscription
from broker.http.auth import caller_of, requires
from broker.http.json_body import json_response
from broker.usecases.webhook_subscriptions import find_subscription, subscribe, subscriptions_of, unsubscribe

routes = web.RouteTableDef()
SUBSCRIPTIONS = "/events/api/v1/subscriptions"


def subscription_json(subscription: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "endPoint": subscription.endpoint,
        "resourceFilter": f"urn:altinn:resource:{subscription.resource_id}",
        "subjectFilter": f"/organisation/{subscription.party}",
        "typeFilter": subscription.event_type_names(),
        "created": subscription.created_at.isoformat(),
        "links": {"self": f"{SUBSCRIPTIONS}/{subscription.id}"},
    }


def _malformed(detail: str) -> Refusal:
    return Refusal(Error.MALFORMED_REQUEST, detail)


@dataclass(frozen=True, slots=True)
class SubscriptionRequest:
    endpoint: str
    resource: str
    event_types: list[str]


def read_subscription_request(raw: bytes) -> SubscriptionRequest:
    """A subscription's body as a client sent it (untrusted bytes); a 400 refusal for anything else."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _malformed("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise _malformed("the body must be a JSON object")
    return SubscriptionRequest(_text(body, "endPoint"), _text(body, "resourceFilter"), _type_filter(body))


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise _malformed(f"{name} must be a non-empty string")
    return value


def _type_filter(body: dict[str, Any]) -> list[str]:
    value = body.get("typeFilter")
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and len(value) <= 20 and all(isinstance(v, str) for v in value):
        return value
    raise _malformed("typeFilter must be an event type or a list of them")


@routes.post(SUBSCRIPTIONS)
@requires()
async def create(request: web.Request) -> web.Response:
    caller = caller_of(request)
    asked = read_subscription_request(await request.read())
    subscription, secret = await subscribe(
        request.app[SERVICES], caller.orgnr, asked.endpoint, asked.resource, asked.event_types
    )
    answer = {**subscription_json(subscription), "secret": secret}
    return json_response(answer, status=201, headers={"Location": answer["links"]["self"]})


@routes.get(SUBSCRIPTIONS)
@requires()
async def listing(request: web.Request) -> web.Response:
    found = await subscriptions_of(request.app[SERVICES], caller_of(request).orgnr)
    return json_response({"items": [subscription_json(s) for s in found]})


@routes.get(SUBSCRIPTIONS + "/{id}")
@requires()
async def one(request: web.Request) -> web.Response:
    found = await find_subscription(request.app[SERVICES], caller_of(request).orgnr, request.match_info["id"])
    return json_response(subscription_json(found))


@routes.delete(SUBSCRIPTIONS + "/{id}")
@requires()
async def delete(request: web.Request) -> web.Response:
    await unsubscribe(request.app[SERVICES], caller_of(request).orgnr, request.match_info["id"])
    return web.Response(status=204)
