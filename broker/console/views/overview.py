"""The overview: messages per status and type, dead letters, relay backlog, refusals, throughput."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiohttp import web

from broker.console.rendering import render
from broker.console.request_context import console_of, viewer_of
from broker.console.throughput_chart import BUCKET_WIDTH, BUCKETS, chart
from broker.domain.errors import Error
from broker.domain.lifecycle import MessageStatus
from broker.store.console_message_queries import ConsoleMessageQueries
from broker.store.refusal_repository import RefusalRepository
from broker.store.unit_of_work import UnitOfWork

routes = web.RouteTableDef()

# Refusals by reason cover this long, summed over every broker process (``broker.refusals`` writes them).
REFUSAL_WINDOW = timedelta(hours=24)
_TITLES = {error.spec.code: error.spec.title for error in Error}


async def _refusals(uow: UnitOfWork, now: datetime) -> list[tuple[str, str, int]]:
    """(code, title, count) per code, most frequent first; a code the catalogue no longer has shows its slug."""
    totals = await RefusalRepository(uow.connection).totals_since(now - REFUSAL_WINDOW)
    return [(total.code, _TITLES.get(total.code, total.slug), total.count) for total in totals]


@routes.get("/")
async def overview(request: web.Request) -> web.Response:
    ctx = console_of(request)
    viewer = viewer_of(request)
    now = ctx.clock()
    async with UnitOfWork(ctx.engine) as uow:
        queries = ConsoleMessageQueries(uow.connection, viewer.scope)
        by_status, by_type = await queries.counts()
        backlog = await queries.relay_backlog()
        throughput = await queries.throughput(now, BUCKETS, BUCKET_WIDTH)
        refusals = await _refusals(uow, now) if viewer.is_operator else None
    statuses = [(status.value, by_status.get(status.value, 0)) for status in MessageStatus]
    return render(
        request,
        "overview.html",
        statuses=statuses,
        total=sum(by_status.values()),
        by_type=by_type,
        dead_letters=by_status.get(MessageStatus.DEAD_LETTERED.value, 0),
        backlog=backlog,
        refusals=refusals,
        chart=chart(throughput, now),
    )
