"""Several RabbitMQ nodes in one setting, tried in turn; quorum queues sized by a setting."""

from __future__ import annotations

import pytest

from broker.config import Settings
from broker.routing.amqp_nodes import connect_nodes, node_urls
from broker.routing.topology import Topology


def test_node_urls_takes_urls_or_one_url_with_hosts() -> None:
    assert node_urls("amqp://u:p@a:5672/") == ["amqp://u:p@a:5672/"]
    assert node_urls("amqp://u:p@a:5672/, amqp://v:q@b:5673/x") == ["amqp://u:p@a:5672/", "amqp://v:q@b:5673/x"]
    assert node_urls("amqp://u:p@a:5672,b,c:5674/vh?heartbeat=5") == [
        "amqp://u:p@a:5672/vh?heartbeat=5",
        "amqp://u:p@b/vh?heartbeat=5",
        "amqp://u:p@c:5674/vh?heartbeat=5",
    ]
    assert node_urls("amqps://a,b") == ["amqps://a/", "amqps://b/"]
    with pytest.raises(ValueError):
        node_urls(" , ")


def test_quorum_group_size_is_declared_when_set() -> None:
    assert "x-quorum-initial-group-size" not in Topology("p").inbox_arguments()
    sized = Topology("p", quorum_group_size=3)
    assert sized.inbox_arguments()["x-quorum-initial-group-size"] == 3
    assert sized.plain_arguments() == {"x-queue-type": "quorum", "x-quorum-initial-group-size": 3}
    assert Settings.from_env({"DSVE_AMQP_QUORUM_GROUP_SIZE": "3"}).amqp_quorum_group_size == 3


@pytest.mark.rabbitmq
async def test_a_dead_node_is_passed_over(amqp_url: str) -> None:
    dead = "amqp://guest:guest@127.0.0.1:1/"
    connection = await connect_nodes([dead, amqp_url], reconnect_interval=0.2)
    try:
        assert connection.connected.is_set()
        assert str(connection.url).endswith(amqp_url.rsplit("@", 1)[1])
    finally:
        await connection.close()
