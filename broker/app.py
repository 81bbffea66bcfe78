"""The bootstrap: ``create_app(settings)`` wires the store, the schema catalogue, the trust store, the
signature verifier, the transport, the outbox relay, the dead-letter watcher, the lifecycle task and the
HTTP routes into one aiohttp application.

Objects are built here, synchronously and cheaply (reading a few small files); everything that talks to
the outside (migrations, seeding, connecting the transport, background tasks) starts in the
application's cleanup context and stops there in reverse order, so a test or ``dsve serve`` gets a clean
start and a clean shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from functools import partial

from aiohttp import web

from broker.app_keys import (
    ACCESS_TOKENS,
    CASE_DESK,
    CONNECTIONS,
    GRANT_POLICY,
    LIFECYCLE,
    MAINTENANCE,
    METRICS,
    METRICS_ACCESS,
    READINESS,
    REFUSALS,
    REGISTRY,
    RELAY,
    SCRAPE_HOOKS,
    SERVICES,
    TRANSPORT,
    TRUST,
    WEBHOOKS,
)
from broker.auth.access_tokens import AccessTokens
from broker.auth.broker_key import load_or_create_token_key
from broker.auth.grant import GrantPolicy
from broker.config import Settings
from broker.console.case_desk import CaseDesk
from broker.console.property_index import PropertyIndexer
from broker.console.setup import setup_console
from broker.domain.clock import utc_now
from broker.events.webhook_dispatcher import WebhookDispatcher
from broker.files.store import DiskFileStore
from broker.http.auth import auth_middleware
from broker.http.client_faults import body_deadline_middleware, quiet_client_errors
from broker.http.forwarded import forwarded_middleware, parse_networks
from broker.http.metrics import BrokerMetrics, MetricsAccess, metrics_middleware
from broker.http.metrics_access import metrics_listener
from broker.http.problems import problem_middleware
from broker.http.refusal_recording import refusal_recording_middleware
from broker.http.routes import add_routes
from broker.refusals import RefusalLog
from broker.registry import load_participants_file
from broker.routing.dead_letters import DeadLetterWatcher
from broker.routing.relay import OutboxRelay
from broker.routing.transport import Transport
from broker.routing.transport_choice import create_transport
from broker.startup import needed, safe_url
from broker.store.engine import SQLITE_BUSY_TIMEOUT_MS, create_engine, sqlite_file
from broker.store.kept_connections import KeptConnections
from broker.store.maintenance import StoreMaintenance
from broker.store.migrate import upgrade
from broker.store.outbox_queue import OutboxQueue
from broker.store.registry_cache import RegistryCache
from broker.store.relay_heartbeats import RelayHeartbeats
from broker.store.wal_checkpoints import WalCheckpoints
from broker.usecases.caller_check import caller_is_active
from broker.usecases.check_workers import CheckWorkers
from broker.usecases.group_commit import GroupCommit
from broker.usecases.lifecycle import LifecycleTask
from broker.usecases.participant_registration import register_participants
from broker.usecases.payload_checks import schema_set_validator
from broker.usecases.services import Services
from broker.usecases.storing import AfterCommit, StoreEach
from broker.usecases.submissions import SubmissionWriter
from broker.xml.catalogue import Catalogue
from broker.xml.inner_signatures import SignedDocuments
from broker.xml.trust import TrustStore
from broker.xml.verification import SignatureVerifier

log = logging.getLogger("broker")

# Room for the multipart/form overhead of /token; message bodies are bounded by the streaming reader.
_FORM_OVERHEAD_BYTES = 64 * 1024


def create_app(
    settings: Settings | None = None,
    *,
    transport: Transport | None = None,
    clock: Callable[[], datetime] = utc_now,
    case_desk: CaseDesk | None = None,
) -> web.Application:
    """The broker as an aiohttp application. ``transport`` replaces the one the settings name (tests);
    ``case_desk`` connects the console to a registry's manual handling (``broker.console.case_desk``)."""
    settings = settings or Settings.from_env()
    with needed("the database URL cannot be used", "DSVE_DATABASE_URL", _DATABASE_REMEDY):
        engine = create_engine(settings.effective_database_url, background_checkpoints=True)
    with needed(f"the schema catalogue in {settings.xsd_dir} cannot be read", "DSVE_XSD_DIR", _XSD_REMEDY):
        catalogue = Catalogue.load(settings.xsd_dir)
        signed_documents = SignedDocuments.load(settings.xsd_dir)
    with needed("the trust store cannot be read", "DSVE_TRUST_CA_FILES", _trust_remedy(settings)):
        trust = TrustStore.from_pem_files(settings.effective_trust_ca_files)
    with needed("the personal CAs cannot be read", "DSVE_TRUST_PERSONAL_CA_FILES", "name readable PEM CA certificates"):
        personal = TrustStore.from_pem_files(settings.effective_personal_trust_ca_files)
    key_file = settings.effective_token_key_file
    with needed(f"the token key {key_file} cannot be used", "DSVE_TOKEN_KEY_FILE", _KEY_REMEDY):
        key = load_or_create_token_key(key_file)
    tokens = AccessTokens(key, settings.token_audience, settings.token_lifetime_s)
    with needed("the RabbitMQ URL cannot be used", "DSVE_AMQP_URL", _AMQP_REMEDY):
        bus = transport if transport is not None else create_transport(settings)
    connections = KeptConnections(engine)
    outbox = OutboxQueue(connections)
    relay = OutboxRelay(outbox, bus, heartbeats=RelayHeartbeats(engine, outbox.owner))
    # Told after each commit that stored new messages: the relay (publish now) and the console's index.
    indexer = PropertyIndexer(engine, settings.limits)
    after = AfterCommit(outbox_written=relay.notify, messages_stored=indexer.note)
    alone = StoreEach(engine, settings.message_ttl_s, after)
    # Caches only while the store tells of registry changes (PostgreSQL's notifications); reads through otherwise.
    registry = RegistryCache(engine)
    writer: SubmissionWriter = alone
    if settings.group_commit_max > 0:
        writer = GroupCommit(
            alone,
            connections,
            settings.message_ttl_s,
            after,
            max_batch=settings.group_commit_max,
            linger_s=settings.group_commit_linger_ms / 1000,
            registry=registry,
            hand_over=relay,  # new outbox rows go to the relay already leased: no claim round trip
            backlog=relay.backlog,
            high_water=settings.outbox_high_water,
            publishing=bus.healthy,
        )
    with needed(
        "a schema set cannot be used",
        "DSVE_SCHEMA_SETS, DSVE_IDENTIFIER_CHECKS, DSVE_CONVERSATION_RULES",
        "point DSVE_SCHEMA_SETS at directories that hold each set's schemas (dsve schemas list shows what is missing)",
    ):
        payload_validator = schema_set_validator(settings, engine, clock, SignatureVerifier(personal, clock=clock))
    services = Services(
        settings=settings,
        engine=engine,
        catalogue=catalogue,
        verifier=SignatureVerifier(trust, clock=clock),
        writer=writer,
        registry=registry,
        signed_documents=signed_documents,
        inner_verifier=SignatureVerifier(personal, clock=clock),
        outbox_written=relay.notify,
        clock=clock,
        file_store=DiskFileStore(settings.effective_file_store_dir),
        payload_validator=payload_validator,
        connections=connections,
        # Worker processes check with the real clock only: a test's clock stays in this process.
        check_workers=CheckWorkers(settings, settings.check_workers)
        if settings.check_workers > 0 and clock is utc_now
        else None,
    )
    metrics = BrokerMetrics()
    quiet_client_errors()
    refusals = RefusalLog(engine, clock, settings.refusal_flush_interval_s)

    app = web.Application(
        middlewares=[
            forwarded_middleware(parse_networks(settings.trusted_proxies)),
            metrics_middleware(metrics),
            body_deadline_middleware(settings.body_timeout_s),
            refusal_recording_middleware(refusals),
            problem_middleware,
            auth_middleware(tokens, partial(caller_is_active, services)),
        ],
        client_max_size=_FORM_OVERHEAD_BYTES,
    )
    app[SERVICES] = services
    app[ACCESS_TOKENS] = tokens
    app[GRANT_POLICY] = GrantPolicy(
        audience=settings.token_audience,
        max_lifetime_s=settings.grant_max_lifetime_s,
        service_owners=settings.service_owners,
    )
    app[TRUST] = trust
    app[METRICS] = metrics
    app[RELAY] = relay
    app[REGISTRY] = registry
    app[CONNECTIONS] = connections
    app[TRANSPORT] = bus
    app[LIFECYCLE] = LifecycleTask(services, settings.lifecycle_interval_s)
    app[REFUSALS] = refusals
    app[WEBHOOKS] = WebhookDispatcher(
        engine,
        allow_loopback=settings.webhook_allow_loopback,
        max_attempts=settings.webhook_max_attempts,
        retry_base_s=settings.webhook_retry_base_s,
        retry_max_s=settings.webhook_retry_max_s,
        timeout_s=settings.webhook_timeout_s,
        poll_interval_s=settings.webhook_poll_interval_s,
    )
    app[MAINTENANCE] = StoreMaintenance(engine, settings.store_maintenance_interval_s)
    app[READINESS] = [_transport_check(bus)]
    app[SCRAPE_HOOKS] = [_backlog_hook(relay, metrics)]
    if case_desk is not None:
        app[CASE_DESK] = case_desk
    app[METRICS_ACCESS] = MetricsAccess(token=settings.metrics_token, listen=settings.metrics_listen)
    if settings.metrics_listen is not None:
        app.cleanup_ctx.append(metrics_listener(*settings.metrics_listen))
    add_routes(app)
    with needed(
        "the console cannot be set up",
        "DSVE_CONSOLE_SECRET_FILE, DSVE_CONSOLE_SESSION_LIFETIME",
        "make the secret file readable by this user (or move it away to have a new one made: everyone signs in "
        "again), and give the lifetime in whole seconds",
    ):
        setup_console(app, settings, indexer)
    app.cleanup_ctx.append(_running_broker)
    return app


_DATABASE_REMEDY = (
    "start the database server or correct the URL (postgresql+asyncpg://user@host/db; unset for the embedded "
    "SQLite file); `dsve db current` tries the connection"
)
_XSD_REMEDY = "point DSVE_XSD_DIR at a directory with catalogue.toml and the schemas, or unset it for the built-in xsd/"
_KEY_REMEDY = (
    "make the file readable by this user, or move it away to have a new key made (tokens issued with the old key "
    "stop working)"
)
_AMQP_REMEDY = "start RabbitMQ or correct the URL (amqp://user:password@host:5672/), or unset DSVE_AMQP_URL"
_PARTICIPANTS_REMEDY = "correct the file (`dsve participants load FILE` reports what is wrong) or unset the variable"


def _trust_remedy(settings: Settings) -> str:
    if settings.trust_ca_files:
        return "name readable PEM files of CA certificates, separated by ':'"
    pki = settings.data_dir / "pki"
    return (
        f"for a demo, `dsve sim init {pki}` makes a test CA there (with the demo participants' certificates); "
        "otherwise set DSVE_TRUST_CA_FILES to the CA certificates (PEM) that issue your participants' certificates"
    )


def _transport_check(transport: Transport) -> Callable[[], Awaitable[tuple[str, bool]]]:
    async def check() -> tuple[str, bool]:
        return "transport", transport.healthy()

    return check


def _backlog_hook(relay: OutboxRelay, metrics: BrokerMetrics) -> Callable[[], Awaitable[None]]:
    async def refresh() -> None:
        metrics.outbox_backlog.set(await relay.backlog())

    return refresh


async def _seed_participants(settings: Settings, services: Services) -> None:
    if settings.participants_file is None:
        return
    participants = await asyncio.to_thread(load_participants_file, settings.participants_file, settings.xsd_dir)
    count = await register_participants(services.engine, participants)
    log.info("participants seeded", extra={"count": count, "file": str(settings.participants_file)})


async def _running_broker(app: web.Application) -> AsyncIterator[None]:
    """Start in dependency order, stop in reverse; a failed start undoes what had started."""
    services = app[SERVICES]
    transport, relay, lifecycle, refusals = app[TRANSPORT], app[RELAY], app[LIFECYCLE], app[REFUSALS]
    watcher = DeadLetterWatcher(services.engine, transport, on_event=relay.notify)
    started: list[Callable[[], Awaitable[None]]] = [services.engine.dispose, app[CONNECTIONS].close]
    try:
        # Migrations are idempotent at head, so every process may run them; the embedded default needs it.
        where = safe_url(services.settings.effective_database_url)
        with needed(f"the database {where} cannot be reached or migrated", "DSVE_DATABASE_URL", _DATABASE_REMEDY):
            await upgrade(services.engine)
        database_file = sqlite_file(services.engine.url)
        if database_file is not None:  # the engine's commits leave the WAL's checkpoints to this task
            checkpoints = WalCheckpoints(database_file, SQLITE_BUSY_TIMEOUT_MS / 1000)
            await checkpoints.start()
            started.append(checkpoints.stop)
        await asyncio.to_thread(services.catalogue.compile_all)
        if services.check_workers is not None:
            await services.check_workers.start()
            started.append(services.check_workers.close)
        with needed("the participants file cannot be loaded", "DSVE_PARTICIPANTS_FILE", _PARTICIPANTS_REMEDY):
            await _seed_participants(services.settings, services)
        await app[REGISTRY].start()
        started.append(app[REGISTRY].stop)
        with needed("RabbitMQ cannot be reached", "DSVE_AMQP_URL", _AMQP_REMEDY):
            await transport.start()
        started.append(transport.close)
        await relay.start()
        started.append(relay.stop)
        await watcher.start()
        started.append(watcher.stop)
        await lifecycle.start()
        started.append(lifecycle.stop)
        await app[MAINTENANCE].start()
        started.append(app[MAINTENANCE].stop)
        await app[WEBHOOKS].start()
        started.append(app[WEBHOOKS].stop)
        await refusals.start()
        started.append(refusals.stop)  # its last flush needs the store, which is disposed of last
        started.append(services.writer.stop)  # first to stop: a group commit's last batch still reaches the relay
        log.info(
            "broker started", extra={"database": services.engine.dialect.name, "message_types": len(services.catalogue)}
        )
        yield
    finally:
        for stop in reversed(started):
            try:
                await stop()
            except Exception:
                log.exception("error while stopping the broker")
        log.info("broker stopped")
