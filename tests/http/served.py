"""The broker app served as ``dsve serve`` serves it, for tests that talk raw bytes over a socket.

aiohttp's test server cancels a handler whose client leaves; ``dsve serve`` (``web.run_app``) does not, so
what a handler sees when its client disconnects can only be tested on a server set up like this one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from broker.app import create_app
from broker.app_keys import ACCESS_TOKENS, SERVICES
from broker.xml.pki import TestPki
from tests.http.conftest import broker_settings, register_demo


@dataclass
class Served:
    """The broker app served as ``dsve serve`` serves it (aiohttp's test server cancels handlers instead)."""

    app: web.Application
    port: int

    def token(self, orgnr: str) -> str:
        return self.app[ACCESS_TOKENS].issue(orgnr).access_token


async def serve(tmp_path: Path, pki: TestPki, **overrides: Any) -> AsyncIterator[Served]:
    settings = broker_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}", pki, **overrides)
    app = create_app(settings)
    runner = web.AppRunner(app, handler_cancellation=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    await register_demo(app[SERVICES], pki)
    port = runner.addresses[0][1]
    try:
        yield Served(app, port)
    finally:
        await runner.cleanup()


async def raw_exchange(served: Served, data: bytes, *, close_after_send: bool = False, read_s: float = 5.0) -> bytes:
    """Send raw bytes to the server; answer what came back before it closed (or ``read_s`` passed)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    writer.write(data)
    await writer.drain()
    if close_after_send:
        await asyncio.sleep(0.3)  # the handler is reading the body when the client leaves
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(1.0)  # let the server notice and finish the request
        return b""
    try:
        return await asyncio.wait_for(reader.read(65536), read_s)
    finally:
        writer.close()


RUN_CLI = "import sys; from broker.cli import main; sys.exit(main(sys.argv[1:]))"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve_command(
    tmp_path: Path,
    pki: TestPki,
    env: dict[str, str],
    args: tuple[str, ...] = (),
    tls: ssl.SSLContext | None = None,
) -> Iterator[int]:
    """``dsve serve`` as its own process on the embedded default, ready; yields its port, stops it after."""
    port = free_port()
    environment = {
        **os.environ,
        "DSVE_DATA_DIR": str(tmp_path / "data"),
        "DSVE_TRUST_CA_FILES": str(pki.ca_cert_path),
        **env,
    }
    environment.pop("DSVE_DATABASE_URL", None)
    environment.pop("DSVE_AMQP_URL", None)
    command = [sys.executable, "-c", RUN_CLI, "serve", "--port", str(port), *args]
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    scheme = "https" if tls is not None else "http"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                url = f"{scheme}://127.0.0.1:{port}/readyz"
                with urllib.request.urlopen(url, timeout=1, context=tls) as response:
                    assert json.load(response)["status"] == "ready"
                    break
            except OSError:
                assert process.poll() is None, process.communicate()[1].decode()
                assert time.monotonic() < deadline, "the broker did not become ready"
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.communicate(timeout=20)
