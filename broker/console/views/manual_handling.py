"""Manual handling: the submissions a registry (the Kartverket simulator) holds UNDER_BEHANDLING because a
control came out UAVKLART, with those control results, and the case officer's decision (TINGLYST or NEKTET).

Deciding is for the registry's own staff (a console user of that participant); an operator sees the list
but decides nothing, as the broker's operator is nobody's case officer. The registry keeps the state and
sends the submitter the final status itself (``broker.console.case_desk``).
"""

from __future__ import annotations

import logging

from aiohttp import web

from broker.app_keys import CASE_DESK
from broker.console.case_desk import OUTCOMES, CaseClosed, CaseDesk, CaseUnknown
from broker.console.rendering import error_page, not_found, redirect, render
from broker.console.request_context import viewer_of

log = logging.getLogger(__name__)

routes = web.RouteTableDef()
PATH = "/manual-handling"


def _desk(request: web.Request) -> CaseDesk | None:
    return request.config_dict.get(CASE_DESK)


def _is_officer(request: web.Request, desk: CaseDesk) -> bool:
    viewer = viewer_of(request)
    return not viewer.is_operator and viewer.orgnr == desk.orgnr


@routes.get(PATH)
async def manual_cases(request: web.Request) -> web.Response:
    desk = _desk(request)
    viewer = viewer_of(request)
    if desk is not None and not (viewer.is_operator or _is_officer(request, desk)):
        return error_page(request, 403, "Not allowed", "Only the registry's staff and operators see its cases.")
    cases = await desk.pending() if desk is not None else ()
    return render(
        request,
        "manual_handling.html",
        desk=desk,
        cases=cases,
        officer=desk is not None and _is_officer(request, desk),
        outcomes=OUTCOMES,
        done=request.query.get("done", ""),
    )


@routes.post(PATH + "/{id:[0-9]{1,12}}")
async def decide(request: web.Request) -> web.Response:
    desk = _desk(request)
    if desk is None:
        return not_found(request)
    if not _is_officer(request, desk):
        return error_page(request, 403, "Not allowed", "Only the registry's staff decide its cases.")
    form = await request.post()
    utfall = str(form.get("utfall", ""))
    if utfall not in OUTCOMES:
        return error_page(request, 400, "Bad decision", f"Choose one of {', '.join(OUTCOMES)}.")
    innsending_id = int(request.match_info["id"])
    officer = viewer_of(request).username
    try:
        recorded = await desk.decide(innsending_id, utfall, officer)
    except CaseUnknown:
        return not_found(request)
    except CaseClosed:
        return error_page(request, 409, "Already decided", f"Submission {innsending_id} is no longer waiting.")
    log.info("manual handling decided", extra={"innsending_id": innsending_id, "utfall": recorded, "by": officer})
    return redirect(f"/console{PATH}?done={innsending_id}:{recorded}")
