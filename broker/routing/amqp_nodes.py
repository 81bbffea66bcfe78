"""Several RabbitMQ nodes behind one setting, and a robust connection that tries them in turn.

``DSVE_AMQP_URL`` may name several nodes: full URLs separated by commas
(``amqp://u:p@h1:5672/,amqp://u:p@h2:5672/``) or one URL with several hosts
(``amqp://u:p@h1:5672,h2:5672,h3/vhost``), whose credentials, virtual host and options every host shares.
aio-pika's robust connection reconnects to the one URL it was given; ``MultiNodeConnection`` starts every
attempt at the node that last worked and goes on to the next ones, so losing a node costs one reconnect
to another, not an outage.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import aio_pika
from aio_pika.abc import AbstractRobustConnection
from aio_pika.robust_connection import RobustConnection
from yarl import URL

_HOST_LIST = re.compile(r"^(?P<scheme>amqps?)://(?P<userinfo>[^@/?]*@)?(?P<hosts>[^/?]*)(?P<rest>[/?].*)?$")


def node_urls(value: str) -> list[str]:
    """The URL of each node ``value`` names, in the order given."""
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if not parts:
        raise ValueError("no RabbitMQ URL given")
    if all("://" in part for part in parts):
        return parts
    match = _HOST_LIST.match(value.strip())
    if match is None:
        raise ValueError("a RabbitMQ URL list is either URLs or one URL with hosts separated by commas")
    userinfo, rest = match["userinfo"] or "", match["rest"] or "/"
    hosts = [host.strip() for host in match["hosts"].split(",") if host.strip()]
    return [f"{match['scheme']}://{userinfo}{host}{rest}" for host in hosts]


class MultiNodeConnection(RobustConnection):
    """A robust connection over several nodes: each (re)connect tries them in turn, from the last good one."""

    def __init__(self, urls: Sequence[str], **kwargs: Any) -> None:
        super().__init__(URL(urls[0]), **kwargs)
        self.node_urls = [URL(url) for url in urls]
        self._node = 0

    async def _RobustConnection__connect_transport(self) -> None:
        """Called by aio-pika for every (re)connect attempt: one attempt goes round every node."""
        connect_one = super()._RobustConnection__connect_transport  # type: ignore[misc]
        error: BaseException | None = None
        for step in range(len(self.node_urls)):
            node = (self._node + step) % len(self.node_urls)
            self.url = self.node_urls[node]
            try:
                await connect_one()
            except aio_pika.exceptions.CONNECTION_EXCEPTIONS as exc:
                error = exc
                continue
            self._node = node
            return
        assert error is not None
        raise error


async def connect_nodes(urls: Sequence[str], **kwargs: Any) -> AbstractRobustConnection:
    """Like ``aio_pika.connect_robust`` for one or several nodes."""
    connection = MultiNodeConnection(urls, **kwargs)
    await connection.connect()
    return connection
