"""Subcommands: ``dsve serve``, the broker's HTTP API in the foreground.

Settings come from the environment (``DSVE_*``); ``--host`` and ``--port`` override theirs. SIGTERM and
SIGINT stop it gracefully: the listener closes, requests in flight finish (up to the shutdown timeout),
then the background tasks stop and the store and transport are closed.
"""

from __future__ import annotations

import argparse
import sys

SHUTDOWN_TIMEOUT_S = 15.0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add this group's subcommands."""
    parser = subparsers.add_parser("serve", help="run the broker's HTTP API (settings from DSVE_* variables)")
    parser.add_argument("--host", help="address to listen on (default: DSVE_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default: DSVE_PORT or 8080)")
    parser.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    import logging

    from aiohttp import web

    from broker.app import create_app
    from broker.config import Settings
    from broker.logging import configure_logging

    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"dsve serve: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    try:
        app = create_app(settings)
    except (OSError, ValueError) as exc:
        print(f"dsve serve: cannot start: {exc}", file=sys.stderr)
        return 2
    logging.getLogger("broker").info("listening", extra={"host": host, "port": port})
    web.run_app(
        app,
        host=host,
        port=port,
        access_log=logging.getLogger("aiohttp.access") if settings.access_log else None,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        handle_signals=True,
        print=None,
    )
    return 0
