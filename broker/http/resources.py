"""``/broker/api/v1/resource/{resourceId}``: a resource's settings and access list, for its service owner."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from broker.app_keys import SERVICES
from broker.auth.access_tokens import SCOPE_SERVICE_OWNER
from broker.domain.errors import Error, Refusal
from broker.domain.file_transfers import ResourceAccess, parse_party
from broker.http.auth import requires
from broker.http.body import read_limited
from broker.http.file_transfer_json import resource_json
from broker.http.json_body import json_response
from broker.usecases.file_transfers.resources import ResourceChange, configure_resource, get_resource

routes = web.RouteTableDef()
BASE = "/broker/api/v1/resource"
MAX_BODY_BYTES = 64 * 1024


def _invalid(detail: str) -> Refusal:
    return Refusal(Error.FILE_TRANSFER_INVALID, detail)


def _typed(fields: dict[str, Any], name: str, kind: type[Any], label: str) -> Any:
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _invalid(f"{label} must be a {kind.__name__}")
    return value


def _access(value: Any) -> tuple[ResourceAccess, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > 1000:
        raise _invalid("accessList must be a list of {party, send, receive}")
    entries: list[ResourceAccess] = []
    for item in value:
        if not isinstance(item, dict):
            raise _invalid("accessList must be a list of {party, send, receive}")
        fields = {str(k).lower(): v for k, v in item.items()}
        orgnr = parse_party(str(fields.get("party", "")))
        send, receive = fields.get("send", True), fields.get("receive", True)
        if orgnr is None or not isinstance(send, bool) or not isinstance(receive, bool):
            raise _invalid("each accessList entry needs a party (0192:<orgnr>) and send/receive as true or false")
        entries.append(ResourceAccess(orgnr, send, receive))
    return tuple(entries)


def resource_change(body: Any) -> ResourceChange:
    """Altinn's ``ResourceExt`` (names matched without regard to case), plus ``schemaSet`` and ``accessList``."""
    if not isinstance(body, dict):
        raise _invalid("the body must be a JSON object")
    fields = {str(k).lower(): v for k, v in body.items()}
    return ResourceChange(
        max_file_transfer_size=_typed(fields, "maxfiletransfersize", int, "maxFileTransferSize"),
        time_to_live=_typed(fields, "filetransfertimetolive", str, "fileTransferTimeToLive"),
        purge_after_all_confirmed=_typed(
            fields, "purgefiletransferafterallrecipientsconfirmed", bool, "purgeFileTransferAfterAllRecipientsConfirmed"
        ),
        purge_grace_period=_typed(fields, "purgefiletransfergraceperiod", str, "purgeFileTransferGracePeriod"),
        use_manifest_file_shim=_typed(fields, "usemanifestfileshim", bool, "useManifestFileShim"),
        schema_set=_typed(fields, "schemaset", str, "schemaSet") or None,
        clear_schema_set="schemaset" in fields and not fields["schemaset"],
        access=_access(fields.get("accesslist")),
    )


@routes.put(BASE + "/{resourceId}")
@requires(SCOPE_SERVICE_OWNER)
async def configure(request: web.Request) -> web.Response:
    if request.content_type != "application/json":
        raise Refusal(Error.UNSUPPORTED_MEDIA_TYPE, "send the settings as application/json")
    try:
        body = json.loads(await read_limited(request, MAX_BODY_BYTES))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _invalid(f"the body is not JSON: {exc}") from exc
    except RecursionError:  # nested deeper than the parser goes: a few kilobytes of '[' (a 500 before)
        raise _invalid("the body is not JSON: nested too deeply") from None
    await configure_resource(request.app[SERVICES], request.match_info["resourceId"], resource_change(body))
    return web.Response(status=200)


@routes.get(BASE + "/{resourceId}")
@requires(SCOPE_SERVICE_OWNER)
async def show(request: web.Request) -> web.Response:
    settings = await get_resource(request.app[SERVICES], request.match_info["resourceId"])
    return json_response(resource_json(settings))
