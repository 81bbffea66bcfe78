"""``setup_console(app, settings)``: the web console as a sub-application of the broker under ``/console``.

A sub-application keeps the console's middleware (sessions, CSRF, HTML error pages, security headers) off
the API, whose clients get problem+json. It shares the broker's store through the ``Services`` the
bootstrap put on the app, so call this after ``app[SERVICES]`` is set. The property-unit indexer starts
with the app and stops at shutdown, before the broker's own cleanup disposes of the store.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from itsdangerous import URLSafeTimedSerializer

from broker.app_keys import CONSOLE, CONSOLE_APP, PROPERTY_INDEXER, SERVICES
from broker.config import Settings
from broker.console.context import ConsoleContext
from broker.console.middleware import console_middleware
from broker.console.options import ConsoleOptions
from broker.console.property_index import PropertyIndexer
from broker.console.rendering import make_templates
from broker.console.secret import load_or_create_secret
from broker.console.views import (
    case,
    cases,
    conversations,
    dead_letters,
    manual_handling,
    message,
    overview,
    participants,
    sign_in,
    transfers,
    webhooks,
)

PREFIX = "/console"
STATIC_DIR = Path(__file__).resolve().parent / "static"
ROUTE_TABLES = (
    sign_in.routes,
    overview.routes,
    cases.routes,
    case.routes,
    message.routes,
    participants.routes,
    dead_letters.routes,
    webhooks.routes,
    transfers.routes,
    conversations.routes,
    manual_handling.routes,
)


def setup_console(
    app: web.Application,
    settings: Settings,
    indexer: PropertyIndexer | None = None,
    options: ConsoleOptions | None = None,
) -> web.Application:
    """Mount the console on ``app`` and return its sub-application. ``indexer`` is the property index the
    broker's writers tell what they store (without one, the console's own reads everything from the store)."""
    if SERVICES not in app:
        raise RuntimeError("setup_console needs the broker's services on the app: call it after create_app sets them")
    options = options or ConsoleOptions.from_env(settings)
    secret = load_or_create_secret(options.secret_file)
    services = app[SERVICES]
    engine = services.engine
    ctx = ConsoleContext(
        settings=settings,
        options=options,
        engine=engine,
        sessions=URLSafeTimedSerializer(secret, salt="dsve-console-session"),
        sign_in_tokens=URLSafeTimedSerializer(secret, salt="dsve-console-sign-in"),
        templates=make_templates(),
        clock=services.clock,
    )
    console = web.Application(middlewares=[console_middleware(ctx)])
    console[CONSOLE] = ctx
    indexer = indexer if indexer is not None else PropertyIndexer(engine, settings.limits)
    console[PROPERTY_INDEXER] = indexer
    for table in ROUTE_TABLES:
        console.add_routes(table)
    console.add_routes([web.static("/static", STATIC_DIR)])

    async def start_indexer(_: web.Application) -> None:
        await indexer.start()

    async def stop_indexer(_: web.Application) -> None:
        await indexer.stop()

    console.on_startup.append(start_indexer)
    console.on_shutdown.append(stop_indexer)
    app.add_subapp(PREFIX, console)
    app[CONSOLE_APP] = console
    return console
