"""The soak harness: several broker processes, a paced load, faults, every delivery counted.

The short run takes the loopback servers and kills a broker process with SIGKILL; the cluster run starts its
own three-node RabbitMQ cluster and PostgreSQL primary with a standby, and kills the queue leader node and
fails the database over as well (slow: the clusters take a while to start on a busy machine).
"""

from __future__ import annotations

import argparse

import pytest

from bench.soak import run


def _args(**values: object) -> argparse.Namespace:
    defaults: dict[str, object] = {
        "messages": 300,
        "rate": 100.0,
        "brokers": 2,
        "faults": "broker",
        "amqp_url": None,
        "database_url": None,
        "drain_timeout": 60.0,
        "settle_s": 1.0,
        "keep_logs": False,
        "consumer_node": None,
    }
    return argparse.Namespace(**{**defaults, **values})


def _check(figures: dict[str, object]) -> None:
    assert figures["lost"] == 0 and figures["extra"] == 0, figures
    assert figures["accepted"] == figures["messages"], figures
    assert figures["status_500"] == 0 and figures["not_published"] == 0, figures
    assert figures["broker_error_lines"] == 0, figures


@pytest.mark.rabbitmq
@pytest.mark.postgres
async def test_a_killed_broker_loses_nothing(amqp_url: str, postgres_url: str) -> None:
    figures = await run(_args(amqp_url=amqp_url, database_url=postgres_url))
    _check(figures)


@pytest.mark.slow
async def test_leader_node_and_database_failover_lose_nothing() -> None:
    figures = await run(_args(messages=600, faults="broker,leader,postgres", drain_timeout=90.0))
    _check(figures)
    assert len(figures["faults"]) == 5, figures  # killed and started again twice, one failover
