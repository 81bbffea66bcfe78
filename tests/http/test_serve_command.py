"""``dsve serve`` as its own process: it answers, logs JSON, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from broker.xml.pki import TestPki

_RUN_CLI = "import sys; from broker.cli import main; sys.exit(main(sys.argv[1:]))"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_answers_and_stops_on_sigterm(tmp_path: Path, test_pki: TestPki) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "DSVE_DATA_DIR": str(tmp_path / "data"),
        "DSVE_TRUST_CA_FILES": str(test_pki.ca_cert_path),
        "DSVE_LOG_LEVEL": "INFO",
    }
    env.pop("DSVE_DATABASE_URL", None)
    env.pop("DSVE_AMQP_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-c", _RUN_CLI, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as response:
                    assert json.load(response)["status"] == "ready"
                    break
            except OSError:
                assert process.poll() is None, process.communicate()[1].decode()
                assert time.monotonic() < deadline, "the broker did not become ready"
                time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr.decode()
    records = [json.loads(line) for line in stderr.decode().splitlines() if line.startswith("{")]
    messages = [record["message"] for record in records]
    assert "broker started" in messages and "broker stopped" in messages
    key_file = tmp_path / "data" / "broker-token-key.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_serve_freezes_the_startup_heap_and_collects_young_objects_less_often() -> None:
    probe = (
        "import asyncio, gc\n"
        "from broker.cli.server_commands import GC_YOUNG_THRESHOLD, freeze_startup_heap\n"
        "before = gc.get_threshold()\n"
        "asyncio.run(freeze_startup_heap(None))\n"
        "after = gc.get_threshold()\n"
        "assert after == (GC_YOUNG_THRESHOLD, before[1], before[2]), (before, after)\n"
        "assert gc.get_freeze_count() > 0\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=60)
