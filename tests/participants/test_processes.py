"""The demo sale with the broker and each simulator as separate processes, on RabbitMQ and PostgreSQL.

Each process is started the way an operator would start it (`dsve db upgrade`, `dsve serve`, `dsve sim ...`)
with its configuration in the environment; the test watches the case through the broker's API only.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from participants.deployment import MEGLER, init_deployment
from participants.sdk.client import BrokerClient
from participants.sdk.errors import BrokerError
from tests.fixtures.processes import DSVE, free_port, wait_ready

CASE = "OPPGJ-2026-0412"
EXPECTED_MESSAGES = 23


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


async def test_the_demo_sale_with_every_system_in_its_own_process(
    tmp_path: Path, postgres_url: str, amqp_url: str, amqp_prefix: str, processes: list[subprocess.Popen[bytes]]
) -> None:
    deployment = init_deployment(tmp_path / "pki")
    port = free_port()
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
    await wait_ready(url, processes[0])
    start("kartverket", "sim", "kartverket")
    start("bank", "sim", "bank")
    grunnbok = f"sqlite+aiosqlite:///{tmp_path / 'kartverket' / 'grunnbok.db'}"
    start("megler", "sim", "megler", "--start-demo-case", "--grunnbok-url", grunnbok)

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
    assert types.count("forsendelsesstatus") == 4 and types.count("gjennomfoertTinglysing") == 2, types
    assert types.count("tinglysingsforsendelse") == 2 and types[-1] == "oppnaaddPrioritet", types
    assert all(m.status == "confirmed" for m in messages), logs
