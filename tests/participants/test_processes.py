"""The demo sale with the broker and each simulator as separate processes, on RabbitMQ and PostgreSQL.

Each process is started the way an operator would start it (`dsve db upgrade`, `dsve serve`, `dsve sim ...`)
with its configuration in the environment; the test watches the case through the broker's API only.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from participants.deployment import MEGLER, init_deployment
from participants.sdk.client import BrokerClient
from participants.sdk.errors import BrokerError

CASE = "OPPGJ-2026-0412"
EXPECTED_MESSAGES = 20
DSVE = [sys.executable, "-c", "import sys; from broker.cli import main; sys.exit(main())"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


async def _wait_ready(url: str, broker: subprocess.Popen[bytes]) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            assert broker.poll() is None, "the broker process stopped"
            try:
                async with session.get(f"{url}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    pytest.fail("the broker did not become ready")


async def test_the_demo_sale_with_every_system_in_its_own_process(
    tmp_path: Path, postgres_url: str, amqp_url: str, amqp_prefix: str, processes: list[subprocess.Popen[bytes]]
) -> None:
    deployment = init_deployment(tmp_path / "pki")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DSVE_DATABASE_URL": postgres_url,
        "DSVE_AMQP_URL": amqp_url,
        "DSVE_AMQP_PREFIX": amqp_prefix,
        "DSVE_TRUST_CA_FILES": str(deployment.pki.ca_cert_path),
        "DSVE_PARTICIPANTS_FILE": str(deployment.participants_file),
        "DSVE_PORT": str(port),
        "DSVE_BROKER_URL": url,
        "DSVE_PKI_DIR": str(deployment.pki.directory),
        "DSVE_LOG_LEVEL": "WARNING",
    }

    def start(name: str, *args: str) -> None:
        data_dir = tmp_path / name
        data_dir.mkdir(exist_ok=True)
        with (tmp_path / f"{name}.log").open("wb") as log:
            processes.append(
                subprocess.Popen([*DSVE, *args], env={**env, "DSVE_DATA_DIR": str(data_dir)}, stdout=log, stderr=log)
            )

    subprocess.run([*DSVE, "db", "upgrade"], env=env, check=True, capture_output=True)
    start("broker", "serve")
    await _wait_ready(url, processes[0])
    start("kartverket", "sim", "kartverket")
    start("bank", "sim", "bank")
    start("megler", "sim", "megler", "--start-demo-case")

    async with BrokerClient(url, MEGLER, deployment.pki.credential(MEGLER)) as megler:
        messages = []
        for _ in range(600):
            try:
                messages = await megler.case(CASE)
            except BrokerError as exc:
                assert exc.status == 404, exc  # no message of the case has reached the broker yet
            if len(messages) >= EXPECTED_MESSAGES and all(m.status == "confirmed" for m in messages):
                break
            for process in processes:
                assert process.poll() is None, f"a process stopped: {process.args}"
            await asyncio.sleep(0.1)
    logs = {p.name: p.read_text(errors="replace")[-2000:] for p in tmp_path.glob("*.log")}
    assert len(messages) == EXPECTED_MESSAGES, logs
    types = [m.message_type for m in messages]
    assert types.count("forsendelsesstatus") == 2 and types.count("gjennomfoertTinglysing") == 2, types
    assert all(m.status == "confirmed" for m in messages), logs
