"""The OpenAPI document's building blocks: media types, response helpers and the component schemas of every
body the API reads or writes (``openapi.py`` puts them together with the paths)."""

from __future__ import annotations

from typing import Any

from broker.domain.lifecycle import MessageStatus

JSON = "application/json"
PROBLEM = "application/problem+json"
XML = "application/xml"


def schema_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": schema_ref("Problem")}}}


def ok_response(description: str, schema: str, media: str = JSON) -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": schema_ref(schema)}}}


STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
ORGNR = {"type": "string", "pattern": "^[0-9]{9}$"}
STATUSES = [status.value for status in MessageStatus]
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


def component_schemas() -> dict[str, Any]:
    issue = {
        "type": "object",
        "required": ["message", "line", "column", "path"],
        "properties": {
            "line": {"type": "integer", "minimum": 0},
            "column": {"type": "integer", "minimum": 0},
            "path": STRING,
            "message": STRING,
            "code": STRING,
        },
    }
    problem = {
        "type": "object",
        "description": "RFC 9457 problem details; `type` and `code` are stable per error.",
        "required": ["type", "title", "status", "code"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": STRING,
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": STRING,
            "code": STRING,
            "instance": STRING,
            "errors": {"type": "array", "items": schema_ref("Issue")},
            "error": {"type": "string", "description": "OAuth error code on /token refusals"},
        },
    }
    history = {
        "type": "object",
        "required": ["status", "at", "actor"],
        "properties": {
            "status": {"type": "string", "enum": STATUSES},
            "at": TIME,
            "actor": STRING,
            "detail": NULLABLE_STRING,
        },
    }
    message = {
        "type": "object",
        "required": ["id", "message_type", "message_id", "sender", "recipient", "sender_reference", "status"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "message_type": STRING,
            "message_id": STRING,
            "sender": ORGNR,
            "recipient": ORGNR,
            "sender_reference": STRING,
            "recipient_reference": NULLABLE_STRING,
            "created": NULLABLE_TIME,
            "size": {"type": "integer", "minimum": 0},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "status": {"type": "string", "enum": STATUSES},
            "accepted_at": TIME,
            "expires_at": TIME,
            "status_changed_at": TIME,
            "history": {"type": "array", "items": schema_ref("HistoryEntry")},
            "links": {"type": "object", "additionalProperties": STRING},
        },
    }
    participant = {
        "type": "object",
        "required": ["orgnr", "role", "name", "sends", "receives", "active"],
        "properties": {
            "orgnr": ORGNR,
            "role": {"type": "string", "enum": ["bank", "megler", "oppgjoersforetak", "kartverket"]},
            "name": STRING,
            "sends": {"type": "array", "items": STRING},
            "receives": {"type": "array", "items": STRING},
            "active": {"type": "boolean"},
        },
    }
    catalogue_entry = {
        "type": "object",
        "required": ["message_type", "family", "namespace", "sender_roles", "recipient_roles"],
        "properties": {
            "message_type": STRING,
            "family": STRING,
            "namespace": STRING,
            "sender_roles": {"type": "array", "items": STRING},
            "recipient_roles": {"type": "array", "items": STRING},
            "routing_paths": {"type": "object", "additionalProperties": STRING},
            "description": STRING,
            "schema": STRING,
        },
    }

    def listing(item: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        properties = {"items": {"type": "array", "items": schema_ref(item)}, **(extra or {})}
        return {"type": "object", "required": ["items"], "properties": properties}

    return {
        "Issue": issue,
        "Problem": problem,
        "HistoryEntry": history,
        "Message": message,
        "MessagePage": listing("Message", {"next_cursor": NULLABLE_STRING}),
        "Case": listing("Message", {"reference": STRING}),
        "Participant": participant,
        "ParticipantList": listing("Participant"),
        "CatalogueEntry": catalogue_entry,
        "Catalogue": listing("CatalogueEntry"),
        "ValidationReport": {
            "type": "object",
            "required": ["valid", "message_type", "errors"],
            "properties": {
                "valid": {"type": "boolean"},
                "message_type": NULLABLE_STRING,
                "errors": {"type": "array", "items": schema_ref("Issue")},
                "type": STRING,
                "code": STRING,
                "title": STRING,
                "detail": STRING,
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
                "access_token": STRING,
                "token_type": {"type": "string", "const": "Bearer"},
                "expires_in": {"type": "integer"},
                "scope": STRING,
            },
        },
        "Health": {"type": "object", "required": ["status"], "properties": {"status": STRING}},
        "Readiness": {
            "type": "object",
            "required": ["status", "checks"],
            "properties": {
                "status": STRING,
                "checks": {"type": "object", "additionalProperties": {"type": "boolean"}},
            },
        },
    }
