"""``GET /api/openapi.json``: the OpenAPI 3.1 description of every route, schema and error.

Written out by hand from the same catalogue the handlers use (error types, scopes), so the description
says exactly what the API does; a test checks it against the routes the app really serves.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from broker.domain.errors import Error
from broker.domain.lifecycle import MessageStatus
from broker.http.openapi_events import event_paths, event_schemas
from broker.http.openapi_file_transfers import file_transfer_paths, file_transfer_schemas

routes = web.RouteTableDef()

JSON = "application/json"
PROBLEM = "application/problem+json"
XML = "application/xml"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": _ref("Problem")}}}


def _ok(description: str, schema: str, media: str = JSON) -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": _ref(schema)}}}


_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": ["string", "null"]}
_TIME = {"type": "string", "format": "date-time"}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_ORGNR = {"type": "string", "pattern": "^[0-9]{9}$"}
_STATUSES = [status.value for status in MessageStatus]
_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


def _schemas() -> dict[str, Any]:
    issue = {
        "type": "object",
        "required": ["message", "line", "column", "path"],
        "properties": {
            "line": {"type": "integer", "minimum": 0},
            "column": {"type": "integer", "minimum": 0},
            "path": _STRING,
            "message": _STRING,
            "code": _STRING,
        },
    }
    problem = {
        "type": "object",
        "description": "RFC 9457 problem details; `type` and `code` are stable per error.",
        "required": ["type", "title", "status", "code"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": _STRING,
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": _STRING,
            "code": _STRING,
            "instance": _STRING,
            "errors": {"type": "array", "items": _ref("Issue")},
            "error": {"type": "string", "description": "OAuth error code on /token refusals"},
        },
    }
    history = {
        "type": "object",
        "required": ["status", "at", "actor"],
        "properties": {
            "status": {"type": "string", "enum": _STATUSES},
            "at": _TIME,
            "actor": _STRING,
            "detail": _NULLABLE_STRING,
        },
    }
    message = {
        "type": "object",
        "required": ["id", "message_type", "message_id", "sender", "recipient", "sender_reference", "status"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "message_type": _STRING,
            "message_id": _STRING,
            "sender": _ORGNR,
            "recipient": _ORGNR,
            "sender_reference": _STRING,
            "recipient_reference": _NULLABLE_STRING,
            "created": _NULLABLE_TIME,
            "size": {"type": "integer", "minimum": 0},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "status": {"type": "string", "enum": _STATUSES},
            "accepted_at": _TIME,
            "expires_at": _TIME,
            "status_changed_at": _TIME,
            "history": {"type": "array", "items": _ref("HistoryEntry")},
            "links": {"type": "object", "additionalProperties": _STRING},
        },
    }
    participant = {
        "type": "object",
        "required": ["orgnr", "role", "name", "sends", "receives", "active"],
        "properties": {
            "orgnr": _ORGNR,
            "role": {"type": "string", "enum": ["bank", "megler", "oppgjoersforetak", "kartverket"]},
            "name": _STRING,
            "sends": {"type": "array", "items": _STRING},
            "receives": {"type": "array", "items": _STRING},
            "active": {"type": "boolean"},
        },
    }
    catalogue_entry = {
        "type": "object",
        "required": ["message_type", "family", "namespace", "sender_roles", "recipient_roles"],
        "properties": {
            "message_type": _STRING,
            "family": _STRING,
            "namespace": _STRING,
            "sender_roles": {"type": "array", "items": _STRING},
            "recipient_roles": {"type": "array", "items": _STRING},
            "routing_paths": {"type": "object", "additionalProperties": _STRING},
            "description": _STRING,
            "schema": _STRING,
        },
    }

    def listing(item: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        properties = {"items": {"type": "array", "items": _ref(item)}, **(extra or {})}
        return {"type": "object", "required": ["items"], "properties": properties}

    return {
        "Issue": issue,
        "Problem": problem,
        "HistoryEntry": history,
        "Message": message,
        "MessagePage": listing("Message", {"next_cursor": _NULLABLE_STRING}),
        "Case": listing("Message", {"reference": _STRING}),
        "Participant": participant,
        "ParticipantList": listing("Participant"),
        "CatalogueEntry": catalogue_entry,
        "Catalogue": listing("CatalogueEntry"),
        "ValidationReport": {
            "type": "object",
            "required": ["valid", "message_type", "errors"],
            "properties": {
                "valid": {"type": "boolean"},
                "message_type": _NULLABLE_STRING,
                "errors": {"type": "array", "items": _ref("Issue")},
                "type": _STRING,
                "code": _STRING,
                "title": _STRING,
                "detail": _STRING,
            },
        },
        "TokenRequest": {
            "type": "object",
            "required": ["grant_type", "assertion"],
            "properties": {
                "grant_type": {"type": "string", "const": "urn:ietf:params:oauth:grant-type:jwt-bearer"},
                "assertion": {"type": "string", "description": "JWT signed with the enterprise key, x5c header"},
            },
        },
        "TokenResponse": {
            "type": "object",
            "required": ["access_token", "token_type", "expires_in", "scope"],
            "properties": {
                "access_token": _STRING,
                "token_type": {"type": "string", "const": "Bearer"},
                "expires_in": {"type": "integer"},
                "scope": _STRING,
            },
        },
        "Health": {"type": "object", "required": ["status"], "properties": {"status": _STRING}},
        "Readiness": {
            "type": "object",
            "required": ["status", "checks"],
            "properties": {
                "status": _STRING,
                "checks": {"type": "object", "additionalProperties": {"type": "boolean"}},
            },
        },
    }


_AUTH_ERRORS = {
    "401": _problem("No, invalid or expired token (token-missing, token-invalid)"),
    "403": _problem("The token lacks the needed scope (insufficient-scope)"),
}
_NOT_FOUND = {"404": _problem("No such message, or not the caller's (never reveals another's message)")}
_ID = {"name": "id", "in": "path", "required": True, "schema": _STRING}
_XML_BODY = {"required": True, "content": {XML: {"schema": {"type": "string", "description": "signed XML"}}}}
_SUBMIT_ERRORS = {
    "400": _problem("Malformed XML or a forbidden construct (DOCTYPE, entities)"),
    "403": _problem("The document's sender is not the caller (sender-not-caller), or a missing scope"),
    "409": _problem("The sender's message id was used for other content (duplicate-message-id)"),
    "413": _problem("The body or the XML structure exceeds a limit"),
    "415": _problem("The body is not declared as XML"),
    "422": _problem("Schema, rule, signature, signer or routing refusal, with every issue"),
}


def _paths() -> dict[str, Any]:
    api = "/api/v1"
    return {
        "/token": {
            "post": {
                "operationId": "grantToken",
                "summary": "RFC 7523 JWT bearer grant: an access token with scopes dsve:send dsve:receive",
                "requestBody": {
                    "required": True,
                    "content": {"application/x-www-form-urlencoded": {"schema": _ref("TokenRequest")}},
                },
                "responses": {
                    "200": _ok("An access token", "TokenResponse"),
                    "400": _problem("The grant is invalid (invalid-grant)"),
                    "401": _problem("The assertion expired or its jti was used before (token-replayed)"),
                },
            }
        },
        f"{api}/messages": {
            "post": {
                "operationId": "submitMessage",
                "summary": "Submit one signed message",
                "security": _BEARER,
                "requestBody": _XML_BODY,
                "responses": {
                    "201": _ok("Stored; the message resource", "Message"),
                    "200": _ok("A repeat of a stored message; the stored resource", "Message"),
                    **_AUTH_ERRORS,
                    **_SUBMIT_ERRORS,
                },
            },
            "get": {
                "operationId": "listMessages",
                "summary": "The caller's messages, oldest first, with cursor pagination",
                "security": _BEARER,
                "parameters": [
                    {"name": "box", "in": "query", "schema": {"type": "string", "enum": ["inbox", "outbox"]}},
                    {"name": "status", "in": "query", "schema": {"type": "string", "enum": _STATUSES}},
                    {"name": "type", "in": "query", "schema": _STRING},
                    {"name": "reference", "in": "query", "schema": _STRING},
                    {"name": "since", "in": "query", "schema": _TIME},
                    {"name": "cursor", "in": "query", "schema": _STRING},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
                ],
                "responses": {
                    "200": _ok("One page", "MessagePage"),
                    "400": _problem("A malformed filter or cursor"),
                    **_AUTH_ERRORS,
                },
            },
        },
        f"{api}/messages/{{id}}": {
            "get": {
                "operationId": "getMessage",
                "summary": "One message: routing fields, size, sha256, status history",
                "security": _BEARER,
                "parameters": [_ID],
                "responses": {"200": _ok("The message", "Message"), **_AUTH_ERRORS, **_NOT_FOUND},
            }
        },
        f"{api}/messages/{{id}}/content": {
            "get": {
                "operationId": "downloadMessage",
                "summary": "The signed XML exactly as submitted; the recipient's first download marks it downloaded",
                "security": _BEARER,
                "parameters": [_ID],
                "responses": {
                    "200": {"description": "The signed XML", "content": {XML: {"schema": {"type": "string"}}}},
                    **_AUTH_ERRORS,
                    **_NOT_FOUND,
                },
            }
        },
        f"{api}/messages/{{id}}/confirm": {
            "post": {
                "operationId": "confirmMessage",
                "summary": "The recipient confirms it has handled the message (idempotent)",
                "security": _BEARER,
                "parameters": [_ID],
                "responses": {
                    "200": _ok("The confirmed message", "Message"),
                    **_AUTH_ERRORS,
                    "403": _problem("The caller is not the recipient (not-recipient) or lacks the scope"),
                    **_NOT_FOUND,
                    "409": _problem("The message expired or was purged (invalid-transition)"),
                },
            }
        },
        f"{api}/cases/{{reference}}": {
            "get": {
                "operationId": "getCase",
                "summary": "Every message of one case the caller may see, in order",
                "security": _BEARER,
                "parameters": [{"name": "reference", "in": "path", "required": True, "schema": _STRING}],
                "responses": {"200": _ok("The case", "Case"), **_AUTH_ERRORS, **_NOT_FOUND},
            }
        },
        f"{api}/participants": {
            "get": {
                "operationId": "listParticipants",
                "summary": "Capability lookup for every registered participant",
                "security": _BEARER,
                "responses": {"200": _ok("The participants", "ParticipantList"), **_AUTH_ERRORS},
            }
        },
        f"{api}/participants/{{orgnr}}": {
            "get": {
                "operationId": "getParticipant",
                "summary": "Role, name, and the message types one participant sends and receives",
                "security": _BEARER,
                "parameters": [{"name": "orgnr", "in": "path", "required": True, "schema": _STRING}],
                "responses": {"200": _ok("The participant", "Participant"), **_AUTH_ERRORS, **_NOT_FOUND},
            }
        },
        f"{api}/schemas": {
            "get": {
                "operationId": "listSchemas",
                "summary": "The message catalogue",
                "responses": {"200": _ok("Every message type", "Catalogue")},
            }
        },
        f"{api}/schemas/{{messageType}}": {
            "get": {
                "operationId": "getSchema",
                "summary": "The XSD of one message type (its catalogue entry with Accept: application/json)",
                "parameters": [{"name": "messageType", "in": "path", "required": True, "schema": _STRING}],
                "responses": {
                    "200": {
                        "description": "The family XSD",
                        "content": {XML: {"schema": {"type": "string"}}, JSON: {"schema": _ref("CatalogueEntry")}},
                    },
                    "404": _problem("No such message type"),
                },
            }
        },
        f"{api}/validate": {
            "post": {
                "operationId": "validateMessage",
                "summary": "Run the whole pipeline without storing; answers the validation report",
                "security": _BEARER,
                "requestBody": _XML_BODY,
                "responses": {
                    "200": _ok("The report (valid or not)", "ValidationReport"),
                    **_AUTH_ERRORS,
                    "413": _problem("The body exceeds the size limit"),
                    "415": _problem("The body is not declared as XML"),
                },
            }
        },
        "/healthz": {
            "get": {"operationId": "health", "summary": "Liveness", "responses": {"200": _ok("Alive", "Health")}}
        },
        "/readyz": {
            "get": {
                "operationId": "ready",
                "summary": "Readiness: the store and the transport",
                "responses": {"200": _ok("Ready", "Readiness"), "503": _ok("Not ready", "Readiness")},
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics (with DSVE_METRICS_TOKEN as a bearer token; else 404)",
                "responses": {
                    "200": {"description": "Metrics", "content": {"text/plain": {"schema": _STRING}}},
                    "401": _problem("No or wrong metrics token"),
                    "404": _problem("Metrics are not served on this listener"),
                },
            }
        },
        "/api/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This description",
                "responses": {"200": {"description": "OpenAPI 3.1", "content": {JSON: {"schema": {"type": "object"}}}}},
            }
        },
    }


def openapi_document(server_url: str = "/") -> dict[str, Any]:
    errors = "\n".join(f"- `{e.spec.code}` {e.spec.status} `{e.spec.type_uri}`: {e.spec.title}" for e in Error)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "dsve-broker",
            "version": "1",
            "description": "Message-box broker for signed XML messages in DSVE.\n\nErrors (RFC 9457):\n" + errors,
        },
        "servers": [{"url": server_url}],
        "paths": {**_paths(), **event_paths(), **file_transfer_paths()},
        "components": {
            "schemas": {**_schemas(), **event_schemas(), **file_transfer_schemas()},
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An access token from POST /token",
                }
            },
        },
    }


@routes.get("/api/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())
