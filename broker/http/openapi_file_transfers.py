"""The OpenAPI description of the Altinn 3 Broker-compatible routes, merged into ``/api/openapi.json``."""

from __future__ import annotations

from typing import Any

from broker.domain.file_transfers import FileTransferStatus, RecipientStatus, SearchRole

JSON = "application/json"
PROBLEM = "application/problem+json"
OCTET = "application/octet-stream"
FT = "/broker/api/v1/filetransfer"
TUS = "/broker/api/v1/filetransfer/upload/tus/{fileTransferId}"
_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
_STRING = {"type": "string"}
_TIME = {"type": "string", "format": "date-time"}
_PARTY = {"type": "string", "description": "0192:<orgnr> or urn:altinn:organization:identifier-no:<orgnr>"}
_ID = {"name": "fileTransferId", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM: {"schema": _ref("Problem")}}}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


_AUTH = {
    "401": _problem("No or bad token"),
    "403": _problem("The token lacks the scope, or no access"),
    "503": _problem("The store or the file store is not available"),
}
_REQUEST_ERRORS = {
    "400": _problem("The request is invalid"),
    "404": _problem("Not found, or not visible to the caller"),
    "415": _problem("The content type is not accepted"),
}
_TUS_ERRORS = {
    "400": _problem("A malformed header"),
    "408": _problem("No bytes of the body arrived for DSVE_BODY_TIMEOUT seconds"),
    "412": _problem("Tus-Resumable is not 1.0.0"),
}
_NOT_FOUND = {"404": _problem("No such file transfer visible to the caller")}
_ID_ANSWER = _json("The file transfer's id", _ref("FileTransferId"))
_EMPTY = {"description": "Done (no body)"}


def _op(operation_id: str, summary: str, scopes: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": f"Scopes: {scopes}",
        "security": _BEARER,
        "responses": {**_REQUEST_ERRORS, **responses, **_AUTH},
        **extra,
    }


def file_transfer_schemas() -> dict[str, Any]:
    statuses = [s.value for s in FileTransferStatus]
    recipient_statuses = [s.value for s in RecipientStatus]
    recipient = {
        "type": "object",
        "properties": {
            "recipient": _PARTY,
            "currentRecipientFileTransferStatusCode": {"type": "string", "enum": recipient_statuses},
            "currentRecipientFileTransferStatusText": _STRING,
            "currentRecipientFileTransferStatusChanged": _TIME,
        },
    }
    overview = {
        "type": "object",
        "required": ["fileTransferId", "resourceId", "fileTransferStatus", "sender", "recipients"],
        "properties": {
            "fileTransferId": {"type": "string", "format": "uuid"},
            "resourceId": _STRING,
            "fileName": _STRING,
            "sendersFileTransferReference": _STRING,
            "checksum": {"type": ["string", "null"]},
            "fileTransferSize": {"type": "integer"},
            "fileTransferStatus": {"type": "string", "enum": statuses},
            "fileTransferStatusText": _STRING,
            "fileTransferStatusChanged": _TIME,
            "created": _TIME,
            "expirationTime": _TIME,
            "sender": _PARTY,
            "recipients": {"type": "array", "items": recipient},
            "propertyList": {"type": "object", "additionalProperties": _STRING},
        },
    }
    details = {
        "allOf": [
            _ref("FileTransferOverview"),
            {
                "type": "object",
                "properties": {
                    "fileTransferStatusHistory": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "fileTransferStatus": {"type": "string", "enum": statuses},
                                "fileTransferStatusText": _STRING,
                                "fileTransferStatusChanged": _TIME,
                            },
                        },
                    },
                    "recipientFileTransferStatusHistory": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "recipient": _PARTY,
                                "recipientFileTransferStatusCode": {"type": "string", "enum": recipient_statuses},
                                "recipientFileTransferStatusText": _STRING,
                                "recipientFileTransferStatusChanged": _TIME,
                            },
                        },
                    },
                },
            },
        ]
    }
    initialize = {
        "type": "object",
        "required": ["fileName", "resourceId", "sender", "recipients"],
        "properties": {
            "fileName": {"type": "string", "minLength": 1, "maxLength": 255},
            "resourceId": {"type": "string", "minLength": 1, "maxLength": 255},
            "sendersFileTransferReference": {"type": "string", "maxLength": 4096},
            "sender": _PARTY,
            "recipients": {"type": "array", "minItems": 1, "items": _PARTY},
            "propertyList": {"type": "object", "maxProperties": 10, "additionalProperties": _STRING},
            "checksum": {"type": ["string", "null"], "pattern": "^[0-9a-f]{32}$", "description": "MD5, lower case"},
        },
    }
    resource = {
        "type": "object",
        "properties": {
            "maxFileTransferSize": {"type": ["integer", "null"], "minimum": 1},
            "fileTransferTimeToLive": {"type": ["string", "null"], "description": "ISO 8601 duration, e.g. P30D"},
            "purgeFileTransferAfterAllRecipientsConfirmed": {"type": ["boolean", "null"]},
            "purgeFileTransferGracePeriod": {"type": ["string", "null"], "description": "ISO 8601, at most PT24H"},
            "useManifestFileShim": {"type": ["boolean", "null"]},
            "schemaSet": {"type": ["string", "null"], "description": "payloads are checked against this schema set"},
            "accessList": {
                "type": ["array", "null"],
                "items": {
                    "type": "object",
                    "properties": {"party": _PARTY, "send": {"type": "boolean"}, "receive": {"type": "boolean"}},
                },
            },
        },
    }
    return {
        "FileTransferId": {"type": "object", "properties": {"fileTransferId": {"type": "string", "format": "uuid"}}},
        "FileTransferInitialize": initialize,
        "FileTransferOverview": overview,
        "FileTransferDetails": details,
        "Resource": resource,
    }


def _header(name: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": True, "schema": _STRING}


def _query(name: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


def file_transfer_paths() -> dict[str, Any]:
    write, read_or_write, read = (
        "altinn:broker.write",
        "altinn:broker.read or altinn:broker.write",
        "altinn:broker.read",
    )
    search_parameters = [
        _query("resourceId", _STRING, required=True),
        _query("status", {"type": "string", "enum": [s.value for s in FileTransferStatus]}),
        _query("recipientStatus", {"type": "string", "enum": [s.value for s in RecipientStatus]}),
        _query("from", _TIME),
        _query("to", _TIME),
        _query("role", {"type": "string", "enum": [s.value for s in SearchRole]}),
    ]
    multipart = {
        "type": "object",
        "properties": {
            "Metadata.FileName": _STRING,
            "Metadata.ResourceId": _STRING,
            "Metadata.SendersFileTransferReference": _STRING,
            "Metadata.Sender": _PARTY,
            "Metadata.Recipients": _PARTY,
            "Metadata.Checksum": _STRING,
            "FileTransfer": {"type": "string", "contentMediaType": OCTET},
        },
    }
    upload_errors = {
        "400": _problem("Invalid, too large, wrong checksum, or the payload breaks its schema set (errors listed)"),
        "408": _problem("No bytes of the body arrived for DSVE_BODY_TIMEOUT seconds"),
        "409": _problem("The file was uploaded already"),
        "503": _problem("The file store is not available"),
    }
    return {
        FT: {
            "post": _op(
                "initializeFileTransfer",
                "Initialize a file transfer",
                write,
                {"200": _ID_ANSWER, "400": _problem("Invalid metadata")},
                requestBody={"required": True, "content": {JSON: {"schema": _ref("FileTransferInitialize")}}},
            ),
            "get": _op(
                "searchFileTransfers",
                "The ids of the caller's file transfers on a resource (at most 100, newest first)",
                read_or_write,
                {"200": _json("Ids", {"type": "array", "items": {"type": "string", "format": "uuid"}})},
                parameters=search_parameters,
            ),
        },
        f"{FT}/upload": {
            "post": _op(
                "initializeAndUpload",
                "Initialize a file transfer and upload its file in one multipart form",
                write,
                {"200": _ID_ANSWER, **upload_errors},
                requestBody={"required": True, "content": {"multipart/form-data": {"schema": multipart}}},
            )
        },
        f"{FT}/{{fileTransferId}}/upload": {
            "post": _op(
                "uploadStreamed",
                "Upload the file (streamed; MD5 checked; the payload checked against the resource's schema set)",
                write,
                {"200": _ID_ANSWER, **upload_errors, **_NOT_FOUND},
                parameters=[_ID],
                requestBody={"required": True, "content": {OCTET: {"schema": {"type": "string", "format": "binary"}}}},
            )
        },
        f"{FT}/{{fileTransferId}}": {
            "get": _op(
                "getFileTransferOverview",
                "The transfer and each recipient's status",
                read_or_write,
                {"200": _json("Overview", _ref("FileTransferOverview")), **_NOT_FOUND},
                parameters=[_ID],
            )
        },
        f"{FT}/{{fileTransferId}}/details": {
            "get": _op(
                "getFileTransferDetails",
                "The overview with the status histories",
                read_or_write,
                {"200": _json("Details", _ref("FileTransferDetails")), **_NOT_FOUND},
                parameters=[_ID],
            )
        },
        f"{FT}/{{fileTransferId}}/download": {
            "get": _op(
                "downloadFile",
                "The file, whole or one byte range (Range: bytes=a-b answers 206)",
                read,
                {
                    "200": {"description": "The file", "content": {OCTET: {"schema": {"type": "string"}}}},
                    "206": {"description": "The range", "content": {OCTET: {"schema": {"type": "string"}}}},
                    "416": _problem("The range is not satisfiable"),
                    **_NOT_FOUND,
                },
                parameters=[_ID, {"name": "Range", "in": "header", "required": False, "schema": _STRING}],
            )
        },
        f"{FT}/{{fileTransferId}}/confirmdownload": {
            "post": _op(
                "confirmDownload",
                "The recipient confirms its download (idempotent)",
                read,
                {"200": _EMPTY, "400": _problem("Not published, or not downloaded yet"), **_NOT_FOUND},
                parameters=[_ID],
            )
        },
        TUS: {
            "post": _op(
                "tusCreate",
                "TUS 1.0 creation: a resumable upload of Upload-Length bytes for an initialized transfer "
                "(HEAD answers Upload-Offset and Upload-Length; OPTIONS the capabilities)",
                write,
                {
                    "201": {"description": "Created; Location is the upload's URL"},
                    **upload_errors,
                    **_NOT_FOUND,
                    **_TUS_ERRORS,
                },
                parameters=[_ID, _header("Tus-Resumable"), _header("Upload-Length")],
            ),
            "patch": _op(
                "tusPatch",
                "TUS 1.0: bytes at Upload-Offset (application/offset+octet-stream); the last byte processes the file",
                write,
                {
                    "204": {"description": "Appended; Upload-Offset is the new offset"},
                    "409": _problem("Upload-Offset is not the current offset"),
                    "415": _problem("Not application/offset+octet-stream"),
                    **_NOT_FOUND,
                    **_TUS_ERRORS,
                },
                parameters=[_ID, _header("Tus-Resumable"), _header("Upload-Offset")],
                requestBody={"required": True, "content": {"application/offset+octet-stream": {"schema": _STRING}}},
            ),
            "delete": _op(
                "tusTerminate",
                "TUS 1.0 termination of an incomplete upload: the transfer ends Failed",
                write,
                {
                    "204": {"description": "Terminated"},
                    "409": _problem("The upload is complete"),
                    **_NOT_FOUND,
                    **_TUS_ERRORS,
                },
                parameters=[_ID, _header("Tus-Resumable")],
            ),
        },
        "/authentication/api/v1/exchange/maskinporten": {
            "get": _op(
                "exchangeMaskinportenToken",
                "Altinn's token exchange: the bearer token swapped for a fresh broker token (same organisation and "
                "scopes), answered as text",
                "any",
                {"200": {"description": "The access token", "content": {"text/plain": {"schema": _STRING}}}},
            )
        },
        "/broker/api/v1/resource/{resourceId}": {
            "put": _op(
                "configureResource",
                "Configure a resource (settings not given keep their value)",
                "altinn:serviceowner",
                {"200": _EMPTY, "400": _problem("An invalid setting")},
                parameters=[{"name": "resourceId", "in": "path", "required": True, "schema": _STRING}],
                requestBody={"required": True, "content": {JSON: {"schema": _ref("Resource")}}},
            ),
            "get": _op(
                "getResource",
                "A resource's settings and access list",
                "altinn:serviceowner",
                {"200": _json("The resource", _ref("Resource")), "404": _problem("Not configured")},
                parameters=[{"name": "resourceId", "in": "path", "required": True, "schema": _STRING}],
            ),
        },
    }
