"""``GET /api/openapi.json``: the OpenAPI 3.1 description of every route, schema and error.

Written out by hand from the same catalogue the handlers use (error types, scopes), so the description
says exactly what the API does; a test checks it against the routes the app really serves.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from broker.domain.errors import Error
from broker.http.json_body import json_response
from broker.http.openapi_events import event_paths, event_schemas
from broker.http.openapi_file_transfers import file_transfer_paths, file_transfer_schemas
from broker.http.openapi_schemas import (
    BEARER,
    JSON,
    STATUSES,
    STRING,
    TIME,
    XML,
    component_schemas,
    ok_response,
    problem_response,
    schema_ref,
)

routes = web.RouteTableDef()

_AUTH_ERRORS = {
    "401": problem_response("No, invalid or expired token (token-missing, token-invalid)"),
    "403": problem_response("The token lacks the needed scope (insufficient-scope)"),
}
_NOT_FOUND = {"404": problem_response("No such message, or not the caller's (never reveals another's message)")}
_ID = {"name": "id", "in": "path", "required": True, "schema": STRING}
_XML_BODY = {"required": True, "content": {XML: {"schema": {"type": "string", "description": "signed XML"}}}}
_SUBMIT_ERRORS = {
    "400": problem_response("Malformed XML or a forbidden construct (DOCTYPE, entities)"),
    "403": problem_response("The document's sender is not the caller (sender-not-caller), or a missing scope"),
    "409": problem_response("The sender's message id was used for other content (duplicate-message-id)"),
    "413": problem_response("The body or the XML structure exceeds a limit"),
    "415": problem_response("The body is not declared as XML"),
    "422": problem_response("Schema, rule, signature, signer or routing refusal, with every issue"),
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
                    "content": {"application/x-www-form-urlencoded": {"schema": schema_ref("TokenRequest")}},
                },
                "responses": {
                    "200": ok_response("An access token", "TokenResponse"),
                    "400": problem_response("The grant is invalid (invalid-grant)"),
                    "401": problem_response("The assertion expired or its jti was used before (token-replayed)"),
                },
            }
        },
        f"{api}/messages": {
            "post": {
                "operationId": "submitMessage",
                "summary": "Submit one signed message",
                "security": BEARER,
                "requestBody": _XML_BODY,
                "responses": {
                    "201": ok_response("Stored; the message resource", "Message"),
                    "200": ok_response("A repeat of a stored message; the stored resource", "Message"),
                    **_AUTH_ERRORS,
                    **_SUBMIT_ERRORS,
                },
            },
            "get": {
                "operationId": "listMessages",
                "summary": "The caller's messages, oldest first, with cursor pagination",
                "security": BEARER,
                "parameters": [
                    {"name": "box", "in": "query", "schema": {"type": "string", "enum": ["inbox", "outbox"]}},
                    {"name": "status", "in": "query", "schema": {"type": "string", "enum": STATUSES}},
                    {"name": "type", "in": "query", "schema": STRING},
                    {"name": "reference", "in": "query", "schema": STRING},
                    {"name": "since", "in": "query", "schema": TIME},
                    {"name": "cursor", "in": "query", "schema": STRING},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
                ],
                "responses": {
                    "200": ok_response("One page", "MessagePage"),
                    "400": problem_response("A malformed filter or cursor"),
                    **_AUTH_ERRORS,
                },
            },
        },
        f"{api}/messages/{{id}}": {
            "get": {
                "operationId": "getMessage",
                "summary": "One message: routing fields, size, sha256, status history",
                "security": BEARER,
                "parameters": [_ID],
                "responses": {"200": ok_response("The message", "Message"), **_AUTH_ERRORS, **_NOT_FOUND},
            }
        },
        f"{api}/messages/{{id}}/content": {
            "get": {
                "operationId": "downloadMessage",
                "summary": "The signed XML exactly as submitted; the recipient's first download marks it downloaded",
                "security": BEARER,
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
                "security": BEARER,
                "parameters": [_ID],
                "responses": {
                    "200": ok_response("The confirmed message", "Message"),
                    **_AUTH_ERRORS,
                    "403": problem_response("The caller is not the recipient (not-recipient) or lacks the scope"),
                    **_NOT_FOUND,
                    "409": problem_response("The message expired or was purged (invalid-transition)"),
                },
            }
        },
        f"{api}/cases/{{reference}}": {
            "get": {
                "operationId": "getCase",
                "summary": "Every message of one case the caller may see, in order",
                "security": BEARER,
                "parameters": [{"name": "reference", "in": "path", "required": True, "schema": STRING}],
                "responses": {"200": ok_response("The case", "Case"), **_AUTH_ERRORS, **_NOT_FOUND},
            }
        },
        f"{api}/participants": {
            "get": {
                "operationId": "listParticipants",
                "summary": "Capability lookup for every registered participant",
                "security": BEARER,
                "responses": {"200": ok_response("The participants", "ParticipantList"), **_AUTH_ERRORS},
            }
        },
        f"{api}/participants/{{orgnr}}": {
            "get": {
                "operationId": "getParticipant",
                "summary": "Role, name, and the message types one participant sends and receives",
                "security": BEARER,
                "parameters": [{"name": "orgnr", "in": "path", "required": True, "schema": STRING}],
                "responses": {"200": ok_response("The participant", "Participant"), **_AUTH_ERRORS, **_NOT_FOUND},
            }
        },
        f"{api}/schemas": {
            "get": {
                "operationId": "listSchemas",
                "summary": "The message catalogue",
                "responses": {"200": ok_response("Every message type", "Catalogue")},
            }
        },
        f"{api}/schemas/{{messageType}}": {
            "get": {
                "operationId": "getSchema",
                "summary": "The XSD of one message type (its catalogue entry with Accept: application/json)",
                "parameters": [{"name": "messageType", "in": "path", "required": True, "schema": STRING}],
                "responses": {
                    "200": {
                        "description": "The family XSD",
                        "content": {
                            XML: {"schema": {"type": "string"}},
                            JSON: {"schema": schema_ref("CatalogueEntry")},
                        },
                    },
                    "404": problem_response("No such message type"),
                },
            }
        },
        f"{api}/validate": {
            "post": {
                "operationId": "validateMessage",
                "summary": "Run the whole pipeline without storing; answers the validation report",
                "security": BEARER,
                "requestBody": _XML_BODY,
                "responses": {
                    "200": ok_response("The report (valid or not)", "ValidationReport"),
                    **_AUTH_ERRORS,
                    "413": problem_response("The body exceeds the size limit"),
                    "415": problem_response("The body is not declared as XML"),
                },
            }
        },
        "/healthz": {
            "get": {
                "operationId": "health",
                "summary": "Liveness",
                "responses": {"200": ok_response("Alive", "Health")},
            }
        },
        "/readyz": {
            "get": {
                "operationId": "ready",
                "summary": "Readiness: the store and the transport",
                "responses": {"200": ok_response("Ready", "Readiness"), "503": ok_response("Not ready", "Readiness")},
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics (with DSVE_METRICS_TOKEN as a bearer token; else 404)",
                "responses": {
                    "200": {"description": "Metrics", "content": {"text/plain": {"schema": STRING}}},
                    "401": problem_response("No or wrong metrics token"),
                    "404": problem_response("Metrics are not served on this listener"),
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
            "schemas": {**component_schemas(), **event_schemas(), **file_transfer_schemas()},
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
    return json_response(openapi_document())
