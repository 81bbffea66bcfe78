"""Fault: the broker process is killed with SIGKILL while messages flow, then restarted.

Every message that got a 201 (or a 200 for a repeat) before, during or after the crash reaches its recipient's
queue: the message row and its outbox row commit together, and the restarted broker's relay publishes
whatever the dead one had not confirmed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import aiohttp
import pytest

from broker.routing.rabbitmq import RabbitMqTransport
from broker.routing.transport import Delivery
from participants.deployment import BUYERS_BANK, MEGLER, init_deployment
from participants.sdk.client import BrokerClient
from participants.sdk.errors import BrokerError
from tests.fixtures.processes import DSVE, free_port, wait_ready
from tests.participants.world import build_world

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres, pytest.mark.slow]

MESSAGES = 400
KILL_AFTER = 120
SENDERS = 4


def _start_broker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([*DSVE, "serve"], env=env, stdout=out, stderr=out)


async def test_every_accepted_message_is_delivered_across_a_sigkill_of_the_broker(
    tmp_path: Path, postgres_url: str, amqp_url: str, amqp_prefix: str
) -> None:
    deployment = init_deployment(tmp_path / "pki")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DSVE_DATA_DIR": str(tmp_path / "broker"),
        "DSVE_DATABASE_URL": postgres_url,
        "DSVE_AMQP_URL": amqp_url,
        "DSVE_AMQP_PREFIX": amqp_prefix,
        "DSVE_TRUST_CA_FILES": str(deployment.pki.ca_cert_path),
        "DSVE_PARTICIPANTS_FILE": str(deployment.participants_file),
        "DSVE_PORT": str(port),
        "DSVE_LOG_LEVEL": "WARNING",
    }
    subprocess.run([*DSVE, "db", "upgrade"], env=env, check=True, capture_output=True)
    world = build_world(deployment.pki, auto_proceed=False)
    case = world.megler.cases[world.sale.reference]
    documents = [world.megler.send_financing_check(case, bid=1_000_000 + n) for n in range(MESSAGES)]

    delivered: set[str] = set()

    async def consume(delivery: Delivery) -> None:
        delivered.add(delivery.message_id)
        await delivery.ack()

    consumer = RabbitMqTransport(amqp_url, prefix=amqp_prefix)
    await consumer.start()
    subscription = await consumer.consume(BUYERS_BANK, consume)
    broker = _start_broker(env, tmp_path / "broker.log")
    accepted: set[str] = set()
    try:
        await wait_ready(url, broker)
        pending = list(documents)
        restarted = asyncio.Event()
        processes = [broker]

        async def send_all(megler: BrokerClient) -> None:
            while pending:
                document = pending.pop()
                while True:  # a submission that got no answer is sent again: the broker makes it idempotent
                    try:
                        accepted.add((await megler.send(document)).id)
                        break
                    except (aiohttp.ClientError, BrokerError, OSError) as exc:
                        if isinstance(exc, BrokerError) and exc.status < 500:
                            raise
                        await asyncio.sleep(0.1)

        async def kill_mid_stream() -> None:
            while len(accepted) < KILL_AFTER:
                await asyncio.sleep(0.005)
            processes[0].send_signal(signal.SIGKILL)  # with requests in flight
            await asyncio.to_thread(processes[0].wait, 10)
            processes[0] = _start_broker(env, tmp_path / "broker.log")
            restarted.set()

        async with BrokerClient(url, MEGLER, deployment.pki.credential(MEGLER)) as megler:
            await asyncio.gather(kill_mid_stream(), *(send_all(megler) for _ in range(SENDERS)))
        broker = processes[0]
        assert restarted.is_set()
        for _ in range(300):
            if accepted <= delivered:
                break
            await asyncio.sleep(0.1)
    finally:
        await subscription.cancel()
        await consumer.close()
        broker.terminate()
        broker.wait(timeout=10)
    assert len(accepted) == MESSAGES
    assert accepted - delivered == set(), f"{len(accepted - delivered)} accepted messages were never delivered"
