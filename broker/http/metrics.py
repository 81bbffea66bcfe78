"""Prometheus metrics, one registry per application so that several apps in one process never mix counts.

Labels stay bounded: routes are the route templates (``/api/v1/messages/{id}``), never raw paths; message
types come from the catalogue; refusals are the catalogue's slugs.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from broker.domain.errors import Error, Refusal
from broker.http.problems import REFUSAL_KEY

_MAX_CACHED = 1024  # labelled children kept per family; a method name is the client's to choose


class BrokerMetrics:
    """The broker's counters and histograms, with the helpers the use cases and middleware call."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "dsve_http_requests_total", "HTTP requests answered", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "dsve_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
        self.messages = Counter(
            "dsve_messages_total", "Message status changes by type", ["message_type", "status"], registry=self.registry
        )
        self.refusals = Counter(
            "dsve_refusals_total", "Requests refused, by reason", ["reason"], registry=self.registry
        )
        self.outbox_backlog = Gauge(
            "dsve_outbox_backlog", "Outbox rows not yet published (at the last scrape)", registry=self.registry
        )

        # The labelled children by their labels: ``labels()`` validates and looks up its arguments on every
        # call (6 of the 8 us the three per submission cost); a dict lookup does not. As bounded as the series.
        self._http: dict[tuple[str, str, int], tuple[Histogram, Counter]] = {}
        self._statuses: dict[tuple[str, str], Counter] = {}

    def http_request(self, method: str, route: str, status: int, seconds: float) -> None:
        children = self._http.get((method, route, status))
        if children is None:
            if len(self._http) >= _MAX_CACHED:
                self._http.clear()
            children = self._http[(method, route, status)] = (
                self.latency.labels(method=method, route=route),
                self.requests.labels(method=method, route=route, status=str(status)),
            )
        children[0].observe(seconds)
        children[1].inc()

    def message_status(self, message_type: str, status: str) -> None:
        child = self._statuses.get((message_type, status))
        if child is None:
            if len(self._statuses) >= _MAX_CACHED:
                self._statuses.clear()
            child = self._statuses[(message_type, status)] = self.messages.labels(
                message_type=message_type, status=status
            )
        child.inc()

    def refused(self, error: Error) -> None:
        self.refusals.labels(reason=error.spec.slug).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST


def route_label(request: web.Request) -> str:
    """The route template, so that per-message paths do not each become a time series."""
    info = request.match_info
    if info.http_exception is not None or info.route.resource is None:
        return "unmatched"
    return info.route.resource.canonical


def metrics_middleware(metrics: BrokerMetrics) -> Middleware:
    """Counts every request and its latency; refusals are counted by the problem middleware's mark."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            metrics.http_request(request.method, route_label(request), status, time.perf_counter() - started)
            refusal = request.get(REFUSAL_KEY)
            if isinstance(refusal, Error):
                metrics.refused(refusal)

    return middleware


@dataclass(frozen=True, slots=True)
class MetricsAccess:
    token: str | None = None
    listen: tuple[str, int] | None = None

    def check_api_request(self, request: web.Request) -> None:
        """Refuse a scrape on the API listener that the settings do not allow."""
        if self.listen is not None or self.token is None:
            raise web.HTTPNotFound()
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            raise Refusal(Error.TOKEN_MISSING, "/metrics needs the metrics token: Authorization: Bearer <token>")
