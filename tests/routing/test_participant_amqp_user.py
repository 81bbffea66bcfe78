"""Disabling a participant revokes its own RabbitMQ user; enabling it grants the user its own queues again.

Before, a participant consuming its queue with AMQP credentials of its own kept consuming after
``dsve participants disable``: what waited on its queue still reached it. Here the commands run as the
operator runs them, in a process of their own, against the real RabbitMQ and its management API.
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import aiohttp
import aiormq
import pytest
from yarl import URL

from broker.routing.rabbitmq import RabbitMqTransport
from broker.routing.transport import OutgoingMessage, message_routing_key
from broker.xml.pki import TestPki
from tests.http.conftest import BANK, MEGLER
from tests.http.served import RUN_CLI
from tests.routing.rows import eventually
from tests.routing.transports import rabbitmq_transport


async def _dsve(env: dict[str, str], *argv: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        RUN_CLI,
        *argv,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


@pytest.fixture
async def participant_user(amqp_management_url: str, amqp_prefix: str) -> AsyncIterator[tuple[str, str]]:
    """A RabbitMQ user of the megler's own (the operator creates it; the broker never does), removed after."""
    url = URL(amqp_management_url)
    user, password = f"{amqp_prefix}-{MEGLER}", secrets.token_urlsafe(16)
    credentials = base64.b64encode(f"{url.user or ''}:{url.password or ''}".encode()).decode("ascii")
    auth = {"Authorization": f"Basic {credentials}"}
    api = str(url.with_user(None).with_password(None)).rstrip("/") + "/api/users/" + user
    async with aiohttp.ClientSession(headers=auth) as session:
        async with session.put(api, json={"password": password, "tags": ""}) as response:
            assert response.status in (201, 204), await response.text()
        try:
            yield user, password
        finally:
            async with session.delete(api):
                pass


async def _publish(broker: RabbitMqTransport, text: str) -> None:
    message_id = str(uuid.uuid4())
    key = message_routing_key(MEGLER, "intensjonFraBank")
    await broker.publish([OutgoingMessage("messages", key, text.encode(), message_id)])


async def test_a_disabled_participants_own_rabbitmq_user_is_cut_off_until_it_is_enabled(
    amqp_url: str,
    amqp_management_url: str,
    amqp_prefix: str,
    participant_user: tuple[str, str],
    test_pki: TestPki,
    tmp_path: Path,
) -> None:
    user, password = participant_user
    own_url = str(URL(amqp_url).with_user(user).with_password(password))
    env = {
        "DSVE_AMQP_URL": amqp_url,
        "DSVE_AMQP_PREFIX": amqp_prefix,
        "DSVE_AMQP_MANAGEMENT_URL": amqp_management_url,
        "DSVE_AMQP_PARTICIPANT_USER": "{prefix}-{orgnr}",
    }
    database = ("--database-url", f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}")
    cert = str(test_pki.enterprise[MEGLER].cert_path)
    code, out = await _dsve(
        env, "participants", "add", "--orgnr", MEGLER, "--role", "megler", "--name", "Megler", "--cert", cert, *database
    )
    assert code == 0 and f"RabbitMQ user {user} may consume its own queues" in out, out

    async with rabbitmq_transport(amqp_url, amqp_prefix, [MEGLER, BANK]) as broker:
        await broker.ensure_participant(MEGLER)
        await broker.ensure_participant(BANK)
        inbox = broker.topology.inbox_queue(MEGLER)
        await _publish(broker, "before")

        # Its own user reads its own queue (a passive declare: the broker declared it), and nothing else.
        connection = await aio_pika.connect(own_url)
        channel = await connection.channel()
        first = await (await channel.get_queue(inbox)).get(timeout=10)
        assert first.body == b"before"
        await first.ack()
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
            await (await channel.get_queue(broker.topology.inbox_queue(BANK))).get(fail=False)
        await _publish(broker, "while disabled")

        code, out = await _dsve(env, "participants", "disable", MEGLER, *database)
        assert code == 0 and f"RabbitMQ user {user}: permissions revoked, 1 connection(s) closed" in out, out
        await eventually(lambda: _true(channel.is_closed and not connection.connected.is_set()))  # closed by the server
        with pytest.raises(aiormq.exceptions.AMQPError):
            await aio_pika.connect(own_url)

        code, out = await _dsve(env, "participants", "enable", MEGLER, *database)
        assert code == 0 and f"RabbitMQ user {user} may consume its own queues" in out, out
        connection = await aio_pika.connect(own_url)
        async with connection:
            channel = await connection.channel()
            second = await (await channel.get_queue(inbox)).get(timeout=10)
            assert second.body == b"while disabled"  # it waited on the queue meanwhile
            await second.ack()


async def _true(value: bool) -> bool:
    return value


async def test_without_a_management_url_disable_says_what_the_operator_must_do(
    test_pki: TestPki, tmp_path: Path
) -> None:
    env = {"DSVE_AMQP_MANAGEMENT_URL": ""}
    database = ("--database-url", f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}")
    cert = str(test_pki.enterprise[MEGLER].cert_path)
    code, out = await _dsve(
        env, "participants", "add", "--orgnr", MEGLER, "--role", "megler", "--name", "Megler", "--cert", cert, *database
    )
    assert code == 0 and "RabbitMQ" not in out, out
    code, out = await _dsve(env, "participants", "disable", MEGLER, *database)
    assert code == 0, out
    assert f"{MEGLER} disabled" in out and "rabbitmqctl clear_permissions" in out
