"""Subcommands: ``dsve serve``, the broker's HTTP API in the foreground.

Settings come from the environment (``DSVE_*``); ``--host`` and ``--port`` override theirs. SIGTERM and
SIGINT stop it gracefully: the listener closes, requests in flight finish (up to the shutdown timeout),
then the background tasks stop and the store and transport are closed.
"""

from __future__ import annotations

import argparse
import gc
import ssl
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

SHUTDOWN_TIMEOUT_S = 15.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this group's subcommands."""
    parser = subparsers.add_parser("serve", help="run the broker's HTTP API (settings from DSVE_* variables)")
    parser.add_argument("--host", help="address to listen on (default: DSVE_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default: DSVE_PORT or 8080)")
    parser.add_argument(
        "--tls-cert", type=Path, help="serve HTTPS with this certificate chain (PEM; DSVE_TLS_CERT_FILE)"
    )
    parser.add_argument("--tls-key", type=Path, help="the certificate's private key (PEM; DSVE_TLS_KEY_FILE)")
    parser.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    import logging

    from aiohttp import web

    from broker.app import create_app
    from broker.config import Settings
    from broker.console.case_desk import load_case_desk
    from broker.logging import configure_logging
    from broker.startup import StartupError

    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"dsve serve: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    try:
        tls = tls_context(args.tls_cert or settings.tls_cert_file, args.tls_key or settings.tls_key_file)
    except ValueError as exc:
        print(f"dsve serve: cannot start: {exc}", file=sys.stderr)
        return 2
    try:
        app = create_app(settings, case_desk=load_case_desk())
    except StartupError as exc:
        print(f"dsve serve: cannot start: {exc}", file=sys.stderr)
        return 2
    app.on_startup.append(freeze_startup_heap)
    logging.getLogger("broker").info("listening", extra={"host": host, "port": port, "tls": tls is not None})
    try:
        web.run_app(
            app,
            host=host,
            port=port,
            access_log=logging.getLogger("aiohttp.access") if settings.access_log else None,
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
            keepalive_timeout=settings.keepalive_timeout_s,
            ssl_context=tls,
            handle_signals=True,
            print=None,
        )
    except StartupError as exc:
        print(f"dsve serve: cannot start: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the address: in use, or not this host's
        remedy = "choose a free port or stop what listens there, or an address of this host"
        print(
            f"dsve serve: cannot start: cannot listen on {host}:{port}: {exc.strerror or exc}\n"
            f"  setting: DSVE_HOST, DSVE_PORT (--host, --port)\n  to fix:  {remedy}",
            file=sys.stderr,
        )
        return 2
    return 0


def tls_context(cert_file: Path | None, key_file: Path | None) -> ssl.SSLContext | None:
    """The server's TLS settings (TLS 1.2 at least), or None to serve plain HTTP (behind a proxy).

    Raises ValueError naming the setting when only one file is given or a file cannot be used.
    """
    if cert_file is None and key_file is None:
        return None
    if cert_file is None or key_file is None:
        raise ValueError("serving TLS needs both DSVE_TLS_CERT_FILE (--tls-cert) and DSVE_TLS_KEY_FILE (--tls-key)")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(
            f"DSVE_TLS_CERT_FILE={cert_file} / DSVE_TLS_KEY_FILE={key_file} (--tls-cert/--tls-key): "
            f"cannot load the certificate and key: {exc}"
        ) from exc
    return context


# The cyclic collector's first threshold: how many more container objects may be allocated than freed
# before a young collection. At the default (700) the collections took 6.4 % of the broker's CPU at full
# load (2,784 young, 253 middle and 23 full collections in 16.8 CPU-seconds, pg1, 128 clients); at 10,000
# the broker spent 0.41–0.43 ms of CPU per message against 0.45–0.46, peak RSS unchanged (114 MiB). Nearly
# everything a request allocates is freed by reference counting before any collection sees it.
GC_YOUNG_THRESHOLD = 10_000


async def freeze_startup_heap(app: web.Application) -> None:
    """Move what start-up built (schemas, metadata, certificates, the libraries' own objects) out of the
    cyclic collector's reach: a full collection over that heap took 84 ms, a pause every request in flight
    would wait out. What the server allocates afterwards is collected as before, but less often
    (``GC_YOUNG_THRESHOLD``). The server's process only (``dsve serve``, and the benchmark's embedded broker,
    which must pause as the served one does): in a test process the frozen objects would never be collected."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)
