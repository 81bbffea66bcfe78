"""The OpenAPI description of the webhook subscriptions (``/events/api/v1/subscriptions``) and of the
CloudEvents the broker sends, merged into the one document by ``openapi.py``."""

from __future__ import annotations

from typing import Any

from broker.events.altinn_event import AltinnEventType

JSON = "application/json"
PROBLEM = "application/problem+json"
_STRING = {"type": "string"}
_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
_TYPES = [t.value for t in AltinnEventType] + [t.short_name for t in AltinnEventType]
_PATH = "/events/api/v1/subscriptions"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": _ref("Problem")}}}


def _ok(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ref(schema)}}}


_AUTH = {"401": _problem("No, invalid or expired token")}
_NOT_FOUND = {"404": _problem("No such subscription, or not the caller's")}
_ID = {"name": "id", "in": "path", "required": True, "schema": _STRING}


def event_schemas() -> dict[str, Any]:
    subscription_properties: dict[str, Any] = {
        "id": {"type": "string", "format": "uuid"},
        "endPoint": {"type": "string", "format": "uri"},
        "resourceFilter": {"type": "string", "description": "urn:altinn:resource:<resourceId>"},
        "subjectFilter": {"type": "string", "description": "/organisation/<orgnr>: the caller"},
        "typeFilter": {"type": "array", "items": {"type": "string", "enum": [t.value for t in AltinnEventType]}},
        "created": {"type": "string", "format": "date-time"},
        "links": {"type": "object", "additionalProperties": _STRING},
    }
    return {
        "SubscriptionRequest": {
            "type": "object",
            "required": ["endPoint", "resourceFilter"],
            "properties": {
                "endPoint": {
                    "type": "string",
                    "description": "https URL on the public internet (no credentials, no fragment)",
                },
                "resourceFilter": {"type": "string", "description": "a resource id, or urn:altinn:resource:<id>"},
                "typeFilter": {
                    "description": "event types (full or short names); none: every type",
                    "oneOf": [
                        {"type": "string", "enum": _TYPES},
                        {"type": "array", "items": {"type": "string", "enum": _TYPES}, "maxItems": 20},
                    ],
                },
            },
        },
        "Subscription": {
            "type": "object",
            "required": ["id", "endPoint", "resourceFilter", "subjectFilter", "typeFilter", "created"],
            "properties": subscription_properties,
        },
        "SubscriptionCreated": {
            "type": "object",
            "required": ["id", "endPoint", "resourceFilter", "subjectFilter", "typeFilter", "created", "secret"],
            "properties": {
                **subscription_properties,
                "secret": {
                    "type": "string",
                    "description": "whsec_<base64>: the key of the deliveries' webhook-signature; shown only here",
                },
            },
        },
        "SubscriptionList": {
            "type": "object",
            "required": ["items"],
            "properties": {"items": {"type": "array", "items": _ref("Subscription")}},
        },
        "CloudEvent": {
            "type": "object",
            "description": "A file-transfer event as posted to a webhook (application/cloudevents+json) and "
            "published on the party's events queue",
            "required": ["specversion", "id", "source", "type", "time", "subject", "resource", "resourceinstance"],
            "properties": {
                "specversion": {"type": "string", "const": "1.0"},
                "id": {"type": "string", "format": "uuid"},
                "source": _STRING,
                "type": {"type": "string", "enum": [t.value for t in AltinnEventType]},
                "time": {"type": "string", "format": "date-time"},
                "subject": _STRING,
                "resource": _STRING,
                "resourceinstance": _STRING,
                "datacontenttype": _STRING,
                "data": {"type": "object", "properties": {"Role": {"type": "string", "enum": ["Sender", "Recipient"]}}},
            },
        },
    }


def event_paths() -> dict[str, Any]:
    return {
        _PATH: {
            "post": {
                "operationId": "createSubscription",
                "summary": "Subscribe a webhook endpoint to the caller's events of one resource",
                "description": "Each delivery is a POST of one CloudEvent, signed as Standard Webhooks do "
                "(webhook-id, webhook-timestamp, webhook-signature: v1, HMAC-SHA256 with the secret), retried "
                "with back-off until a 2xx answer, in order per subscription; one that keeps failing goes to "
                "the console's dead-letter list.",
                "security": _BEARER,
                "requestBody": {"required": True, "content": {JSON: {"schema": _ref("SubscriptionRequest")}}},
                "responses": {
                    "201": _ok("Made; the secret is shown this once", "SubscriptionCreated"),
                    "400": _problem("Not JSON, an endpoint that is refused, an unknown type or resource id"),
                    **_AUTH,
                },
            },
            "get": {
                "operationId": "listSubscriptions",
                "summary": "The caller's subscriptions",
                "security": _BEARER,
                "responses": {"200": _ok("The caller's subscriptions", "SubscriptionList"), **_AUTH},
            },
        },
        _PATH + "/{id}": {
            "get": {
                "operationId": "getSubscription",
                "summary": "One of the caller's subscriptions",
                "security": _BEARER,
                "parameters": [_ID],
                "responses": {"200": _ok("The subscription", "Subscription"), **_AUTH, **_NOT_FOUND},
            },
            "delete": {
                "operationId": "deleteSubscription",
                "summary": "Delete one of the caller's subscriptions, with the deliveries it is still owed",
                "security": _BEARER,
                "parameters": [_ID],
                "responses": {"204": {"description": "Deleted"}, **_AUTH, **_NOT_FOUND},
            },
        },
    }
