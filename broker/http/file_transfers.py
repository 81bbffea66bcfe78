"""``/broker/api/v1/filetransfer``: Altinn 3 Broker's file-transfer API (initialize, upload, overview,
details, search, download, confirm). Handlers parse and answer; the use cases do the work."""

from __future__ import annotations

import functools
import json
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import quote

from aiohttp import BodyPartReader, MultipartReader, hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.multipart import content_disposition_filename, parse_content_disposition

from broker.app_keys import SERVICES
from broker.auth.access_tokens import SCOPE_BROKER_READ, SCOPE_BROKER_WRITE
from broker.domain.errors import Error, Refusal
from broker.domain.file_transfers import FileTransferStatus, RecipientStatus, SearchRole
from broker.http.auth import caller_of, requires
from broker.http.body import read_limited
from broker.http.client_faults import streams_body
from broker.http.file_streams import chunks_of, send_chunks
from broker.http.file_transfer_json import details_json, overview_json
from broker.http.json_body import json_response
from broker.store.file_transfer_repository import TransferSearch
from broker.usecases.file_transfers.confirm import confirm_download
from broker.usecases.file_transfers.download import open_download
from broker.usecases.file_transfers.initialize import InitializeRequest, initialize_transfer
from broker.usecases.file_transfers.queries import search_transfers, transfer_details, transfer_overview
from broker.usecases.file_transfers.upload import upload_stream

routes = web.RouteTableDef()
E = TypeVar("E", bound=StrEnum)
BASE = "/broker/api/v1/filetransfer"
MAX_METADATA_BYTES = 64 * 1024
_FORM_FIELD_BYTES = 8 * 1024
_MAX_FORM_FIELDS = 150  # a hundred recipients, ten properties and the metadata
_OCTET_STREAM = "application/octet-stream"


def _invalid(detail: str) -> Refusal:
    return Refusal(Error.FILE_TRANSFER_INVALID, detail)


def _string(value: Any, name: str, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise _invalid(f"{name} must be a string")
    return value


def initialize_request(body: Any) -> InitializeRequest:
    """Altinn's ``FileTransferInitalizeExt``; property names are matched without regard to case, as ASP.NET does."""
    if not isinstance(body, dict):
        raise _invalid("the body must be a JSON object")
    fields = {str(k).lower(): v for k, v in body.items()}
    recipients = fields.get("recipients")
    if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
        raise _invalid("recipients must be a list of parties such as 0192:910753614")
    properties = fields.get("propertylist") or {}
    if not isinstance(properties, dict) or not all(isinstance(v, str) for v in properties.values()):
        raise _invalid("propertyList must be an object of strings")
    checksum = fields.get("checksum")
    return InitializeRequest(
        file_name=_string(fields.get("filename"), "fileName", required=True),
        resource_id=_string(fields.get("resourceid"), "resourceId", required=True),
        sender=_string(fields.get("sender"), "sender", required=True),
        recipients=recipients,
        senders_reference=_string(fields.get("sendersfiletransferreference"), "sendersFileTransferReference"),
        properties={str(k): v for k, v in properties.items()},
        checksum=_string(checksum, "checksum") or None,
    )


async def _json_body(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise Refusal(Error.UNSUPPORTED_MEDIA_TYPE, "send the metadata as application/json")
    raw = await read_limited(request, MAX_METADATA_BYTES)
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _invalid(f"the body is not JSON: {exc}") from exc
    except RecursionError:  # nested deeper than the parser goes: a few kilobytes of '[' (a 500 before)
        raise _invalid("the body is not JSON: nested too deeply") from None


@routes.post(BASE)
@requires(SCOPE_BROKER_WRITE)
async def initialize(request: web.Request) -> web.Response:
    request_body = initialize_request(await _json_body(request))
    transfer_id = await initialize_transfer(request.app[SERVICES], caller_of(request).orgnr, request_body)
    return json_response({"fileTransferId": transfer_id})


@routes.post(BASE + "/{fileTransferId}/upload")
@requires(SCOPE_BROKER_WRITE)
@streams_body
async def upload(request: web.Request) -> web.Response:
    if request.content_type not in (_OCTET_STREAM, ""):
        raise Refusal(Error.UNSUPPORTED_MEDIA_TYPE, "upload the file as application/octet-stream")
    services = request.app[SERVICES]
    transfer_id = await upload_stream(
        services,
        caller_of(request).orgnr,
        request.match_info["fileTransferId"],
        chunks_of(request.content.read, request.app[SERVICES].settings.body_timeout_s),
        request.content_length,
    )
    return json_response({"fileTransferId": transfer_id})


async def _form_text(part: BodyPartReader) -> str:
    raw = await part.read_chunk(_FORM_FIELD_BYTES + 1)
    if len(raw) > _FORM_FIELD_BYTES or await part.read_chunk(1):
        raise _invalid(f"the form field {part.name} is too long")
    try:
        return raw.decode(part.get_charset("utf-8"))
    except (LookupError, UnicodeDecodeError) as exc:
        raise _invalid(f"the form field {part.name} is not text") from exc


@routes.post(BASE + "/upload")
@requires(SCOPE_BROKER_WRITE)
@streams_body
async def initialize_and_upload(request: web.Request) -> web.Response:
    """Altinn's multipart form: ``Metadata.*`` fields first, then the file in ``FileTransfer``."""
    if not _is_form_data(request):
        raise Refusal(Error.UNSUPPORTED_MEDIA_TYPE, "send multipart/form-data with Metadata.* fields and FileTransfer")
    try:
        reader = await request.multipart()
        metadata, part = await _form_metadata(reader)
    except (ValueError, HttpProcessingError) as exc:  # aiohttp's words for a malformed multipart body
        raise _invalid(f"the multipart form is malformed: {exc}") from exc
    services = request.app[SERVICES]
    caller = caller_of(request).orgnr
    transfer_id = await initialize_transfer(services, caller, initialize_request(metadata))
    try:
        await upload_stream(
            services, caller, transfer_id, chunks_of(part.read_chunk, services.settings.body_timeout_s), None
        )
    except (ValueError, HttpProcessingError) as exc:
        raise Refusal(Error.UPLOAD_FAILED, f"the file part is malformed: {exc}") from exc
    return json_response({"fileTransferId": transfer_id})


@functools.lru_cache(maxsize=256)
def _field_name(disposition: str | None) -> str:
    """A form part's name from its ``Content-Disposition``, by aiohttp's parser, kept by the header's text.

    The parse is pure Python and the same few headers come in every request (``form-data;
    name="Metadata.FileName"`` …): kept, each costs a dictionary lookup instead of a parse."""
    _, params = parse_content_disposition(disposition)
    return (content_disposition_filename(params, "name") or "").strip()


def _is_form_data(request: web.Request) -> bool:
    """Whether the body is ``multipart/form-data``, read from the header's media type alone.

    ``request.content_type`` parses the whole header with the standard library's e-mail parser and caches the
    answer by the header's text; a form's boundary is new in every request, so each request paid the parse
    (~0.5 ms here, 7 % of the broker's CPU for small files sent this way). The media type is what precedes the
    first ``;`` (RFC 9110 §8.3.1), compared without regard to case; the boundary is aiohttp's to read."""
    media_type, _, _ = request.headers.get(hdrs.CONTENT_TYPE, "").partition(";")
    return media_type.strip().lower() == "multipart/form-data"


async def _form_metadata(reader: MultipartReader) -> tuple[dict[str, Any], BodyPartReader]:
    """The ``Metadata.*`` fields up to the ``FileTransfer`` part, and that part (its bytes not yet read)."""
    metadata: dict[str, Any] = {"recipients": [], "propertylist": {}}
    for _ in range(_MAX_FORM_FIELDS):
        part = await reader.next()
        if part is None:
            raise _invalid("the form has no FileTransfer part")
        if not isinstance(part, BodyPartReader):
            raise _invalid("nested multipart bodies are not accepted")
        name = _field_name(part.headers.get(hdrs.CONTENT_DISPOSITION))
        lowered = name.lower()
        if lowered == "filetransfer":
            return metadata, part
        value = await _form_text(part)
        key = lowered.removeprefix("metadata.")
        if key == "recipients" or key.startswith("recipients["):
            metadata["recipients"].extend(v.strip() for v in value.split(",") if v.strip())
        elif key.startswith("propertylist[") and key.endswith("]"):
            metadata["propertylist"][name[name.index("[") + 1 : -1]] = value
        else:
            metadata[key] = value
    raise _invalid(f"more than {_MAX_FORM_FIELDS} form fields before FileTransfer")


@routes.get(BASE + "/{fileTransferId}")
@requires(SCOPE_BROKER_READ, SCOPE_BROKER_WRITE)
async def overview(request: web.Request) -> web.Response:
    transfer = await transfer_overview(
        request.app[SERVICES], caller_of(request).orgnr, request.match_info["fileTransferId"]
    )
    return json_response(overview_json(transfer))


@routes.get(BASE + "/{fileTransferId}/details")
@requires(SCOPE_BROKER_READ, SCOPE_BROKER_WRITE)
async def details(request: web.Request) -> web.Response:
    found = await transfer_details(
        request.app[SERVICES], caller_of(request).orgnr, request.match_info["fileTransferId"]
    )
    return json_response(details_json(found))


def _enum_query(request: web.Request, name: str, kind: type[E]) -> E | None:
    """A query value by name (any case) or, as ASP.NET also binds enums, by number."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    for number, member in enumerate(kind):
        if raw.lower() == member.value.lower() or (raw.isdigit() and int(raw) == number):
            return member
    raise _invalid(f"{name} must be one of {', '.join(m.value for m in kind)}")


def _time_query(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace(" ", "+"))
    except ValueError as exc:
        raise _invalid(f"{name} must be an ISO 8601 time") from exc
    if value.tzinfo is None:
        raise _invalid(f"{name} must name its offset from UTC")
    return value


@routes.get(BASE)
@requires(SCOPE_BROKER_READ, SCOPE_BROKER_WRITE)
async def search(request: web.Request) -> web.Response:
    query = TransferSearch(
        caller=caller_of(request).orgnr,
        resource_id=request.query.get("resourceId", ""),
        status=_enum_query(request, "status", FileTransferStatus),
        recipient_status=_enum_query(request, "recipientStatus", RecipientStatus),
        created_from=_time_query(request, "from"),
        created_to=_time_query(request, "to"),
        role=_enum_query(request, "role", SearchRole),
    )
    return json_response(await search_transfers(request.app[SERVICES], query))


@routes.get(BASE + "/{fileTransferId}/download")
@requires(SCOPE_BROKER_READ)
async def download(request: web.Request) -> web.StreamResponse:
    found = await open_download(
        request.app[SERVICES],
        caller_of(request).orgnr,
        request.match_info["fileTransferId"],
        request.headers.get("Range"),
    )
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Type": _OCTET_STREAM,
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(found.file_name, safe='')}",
    }
    if found.range is not None:
        response = web.StreamResponse(status=206, headers=headers)
        response.headers["Content-Range"] = f"bytes {found.range.start}-{found.range.end}/{found.range.total}"
        response.content_length = found.range.length
    else:
        response = web.StreamResponse(status=200, headers=headers)
        response.content_length = found.size
    await send_chunks(response, request, found.chunks)
    return response


@routes.post(BASE + "/{fileTransferId}/confirmdownload")
@requires(SCOPE_BROKER_READ)
async def confirm(request: web.Request) -> web.Response:
    await confirm_download(request.app[SERVICES], caller_of(request).orgnr, request.match_info["fileTransferId"])
    return web.Response(status=200)
