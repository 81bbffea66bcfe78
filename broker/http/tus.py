"""TUS 1.0 resumable upload at Altinn's path ``/broker/api/v1/filetransfer/upload/tus/{fileTransferId}``:
OPTIONS (capabilities), POST (create, with ``Upload-Length``), HEAD (offset), PATCH (bytes at an offset,
``application/offset+octet-stream``) and DELETE (terminate an incomplete upload)."""

from __future__ import annotations

from aiohttp import web

from broker.app_keys import SERVICES
from broker.auth.access_tokens import SCOPE_BROKER_WRITE
from broker.domain.errors import Error, Refusal
from broker.http.auth import caller_of, requires
from broker.http.client_faults import streams_body
from broker.http.file_streams import chunks_of
from broker.usecases.file_transfers.tus import tus_create, tus_patch, tus_progress, tus_terminate

routes = web.RouteTableDef()
PATH = "/broker/api/v1/filetransfer/upload/tus/{fileTransferId}"
VERSION = "1.0.0"
_OFFSET_STREAM = "application/offset+octet-stream"


def _tus_headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": VERSION, "Cache-Control": "no-store", **extra}


def _require_version(request: web.Request) -> None:
    if request.headers.get("Tus-Resumable") != VERSION:
        raise Refusal(Error.TUS_UNSUPPORTED, f"send Tus-Resumable: {VERSION}")


def _whole_header(request: web.Request, name: str) -> int:
    raw = request.headers.get(name, "")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise Refusal(Error.FILE_TRANSFER_INVALID, f"{name} must be a whole number of bytes")
    return int(raw)


@routes.options(PATH)
async def capabilities(request: web.Request) -> web.Response:
    max_size = request.app[SERVICES].settings.max_file_transfer_size
    headers = _tus_headers(**{"Tus-Version": VERSION, "Tus-Extension": "creation,termination"})
    headers["Tus-Max-Size"] = str(max_size)
    return web.Response(status=204, headers=headers)


@routes.post(PATH)
@requires(SCOPE_BROKER_WRITE)
async def create(request: web.Request) -> web.Response:
    _require_version(request)
    if "Upload-Defer-Length" in request.headers:
        raise Refusal(Error.FILE_TRANSFER_INVALID, "Upload-Defer-Length is not supported")
    transfer_id = request.match_info["fileTransferId"]
    await tus_create(
        request.app[SERVICES], caller_of(request).orgnr, transfer_id, _whole_header(request, "Upload-Length")
    )
    location = PATH.replace("{fileTransferId}", transfer_id)
    return web.Response(status=201, headers=_tus_headers(Location=location))


@routes.head(PATH)
@requires(SCOPE_BROKER_WRITE)
async def offset(request: web.Request) -> web.Response:
    _require_version(request)
    progress = await tus_progress(request.app[SERVICES], caller_of(request).orgnr, request.match_info["fileTransferId"])
    headers = _tus_headers(**{"Upload-Offset": str(progress.offset), "Upload-Length": str(progress.length)})
    return web.Response(status=200, headers=headers)


@routes.patch(PATH)
@requires(SCOPE_BROKER_WRITE)
@streams_body
async def patch(request: web.Request) -> web.Response:
    _require_version(request)
    if request.content_type != _OFFSET_STREAM:
        raise Refusal(Error.UNSUPPORTED_MEDIA_TYPE, f"PATCH needs Content-Type: {_OFFSET_STREAM}")
    progress = await tus_patch(
        request.app[SERVICES],
        caller_of(request).orgnr,
        request.match_info["fileTransferId"],
        _whole_header(request, "Upload-Offset"),
        chunks_of(request.content.read, request.app[SERVICES].settings.body_timeout_s),
    )
    return web.Response(status=204, headers=_tus_headers(**{"Upload-Offset": str(progress.offset)}))


@routes.delete(PATH)
@requires(SCOPE_BROKER_WRITE)
async def terminate(request: web.Request) -> web.Response:
    _require_version(request)
    await tus_terminate(request.app[SERVICES], caller_of(request).orgnr, request.match_info["fileTransferId"])
    return web.Response(status=204, headers=_tus_headers())
