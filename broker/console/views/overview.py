"""The overview: messages per status and type, dead letters, relay backlog, refusals, throughput."""

from __future__ import annotations

from aiohttp import web

from broker.console.context import console_of, viewer_of
from broker.console.rendering import render
from broker.console.throughput_chart import BUCKET_WIDTH, BUCKETS, chart
from broker.domain.lifecycle import MessageStatus
from broker.http.app_keys import METRICS
from broker.store.console_message_queries import ConsoleMessageQueries
from broker.store.unit_of_work import UnitOfWork

routes = web.RouteTableDef()


def _refusals(request: web.Request) -> list[tuple[str, int]]:
    """Refusals by reason as this broker process counted them (the API's metrics; not kept in the store)."""
    metrics = request.config_dict.get(METRICS)
    if metrics is None:
        return []
    counts = [
        (sample.labels["reason"], int(sample.value))
        for family in metrics.refusals.collect()
        for sample in family.samples
        if sample.name.endswith("_total") and sample.value
    ]
    return sorted(counts, key=lambda item: (-item[1], item[0]))


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
    statuses = [(status.value, by_status.get(status.value, 0)) for status in MessageStatus]
    return render(
        request,
        "overview.html",
        statuses=statuses,
        total=sum(by_status.values()),
        by_type=by_type,
        dead_letters=by_status.get(MessageStatus.DEAD_LETTERED.value, 0),
        backlog=backlog,
        refusals=_refusals(request) if viewer.is_operator else None,
        chart=chart(throughput, now),
    )
