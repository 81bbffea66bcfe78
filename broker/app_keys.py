"""Typed keys for everything the bootstrap (``create_app``) puts on the application and the handlers, the
console and the tools read back: one module, so a reader finds every shared object of the app here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from broker.auth.access_tokens import AccessTokens
from broker.auth.grant import GrantPolicy
from broker.console.case_desk import CaseDesk
from broker.console.context import ConsoleContext
from broker.console.property_index import PropertyIndexer
from broker.events.webhook_dispatcher import WebhookDispatcher
from broker.http.metrics import BrokerMetrics, MetricsAccess
from broker.refusals import RefusalLog
from broker.routing.relay import OutboxRelay
from broker.routing.transport import Transport
from broker.store.kept_connections import KeptConnections
from broker.store.maintenance import StoreMaintenance
from broker.store.registry_cache import RegistryCache
from broker.usecases.lifecycle import LifecycleTask
from broker.usecases.services import Services
from broker.xml.trust import TrustStore

SERVICES = web.AppKey("services", Services)
ACCESS_TOKENS = web.AppKey("access_tokens", AccessTokens)
GRANT_POLICY = web.AppKey("grant_policy", GrantPolicy)
TRUST = web.AppKey("trust", TrustStore)
METRICS = web.AppKey("metrics", BrokerMetrics)
# Who may read /metrics (a token, or a listener of its own).
METRICS_ACCESS = web.AppKey("metrics_access", MetricsAccess)
# Readiness checks beyond the store: each answers (name, ok); the transport's connection is one.
READINESS = web.AppKey("readiness", list[Callable[[], Awaitable[tuple[str, bool]]]])
# Run before each /metrics scrape, to refresh gauges that are cheap to read only on demand (outbox backlog).
SCRAPE_HOOKS = web.AppKey("scrape_hooks", list[Callable[[], Awaitable[None]]])
RELAY = web.AppKey("relay", OutboxRelay)
REGISTRY = web.AppKey("registry cache", RegistryCache)
CONNECTIONS = web.AppKey("kept connections", KeptConnections)
TRANSPORT = web.AppKey("transport", Transport)
LIFECYCLE = web.AppKey("lifecycle", LifecycleTask)
MAINTENANCE = web.AppKey("maintenance", StoreMaintenance)
REFUSALS = web.AppKey("refusals", RefusalLog)
WEBHOOKS = web.AppKey("webhooks", WebhookDispatcher)
# The web console's sub-application and what its handlers share.
CONSOLE = web.AppKey("console", ConsoleContext)
PROPERTY_INDEXER = web.AppKey("console_property_indexer", PropertyIndexer)
# On the broker's app: the console's sub-application, for tools that need its parts (the benchmark).
CONSOLE_APP = web.AppKey("console_app", web.Application)
# A registry's case officers' desk (the Kartverket simulator's manual handling), when one is connected.
CASE_DESK = web.AppKey("case_desk", CaseDesk)
