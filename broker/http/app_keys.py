"""Typed keys for what the bootstrap puts on the application and the handlers read back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from broker.auth.access_tokens import AccessTokens
from broker.auth.grant import GrantPolicy
from broker.http.metrics import BrokerMetrics
from broker.usecases.services import Services
from broker.xml.trust import TrustStore

SERVICES = web.AppKey("services", Services)
ACCESS_TOKENS = web.AppKey("access_tokens", AccessTokens)
GRANT_POLICY = web.AppKey("grant_policy", GrantPolicy)
TRUST = web.AppKey("trust", TrustStore)
METRICS = web.AppKey("metrics", BrokerMetrics)
# Readiness checks beyond the store: each answers (name, ok); the transport's connection is one.
READINESS = web.AppKey("readiness", list[Callable[[], Awaitable[tuple[str, bool]]]])
# Run before each /metrics scrape, to refresh gauges that are cheap to read only on demand (outbox backlog).
SCRAPE_HOOKS = web.AppKey("scrape_hooks", list[Callable[[], Awaitable[None]]])
