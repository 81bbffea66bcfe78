"""The broker processes of a soak (``bench.soak``): their environment, and each on its own node list."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from pathlib import Path

from bench.clusters import free_port
from bench.common import ServerProcess, broker_env, start_server, wait_ready
from broker.routing.amqp_nodes import node_urls
from participants.deployment import Deployment

DSVE_COMMAND = [shutil.which("dsve") or "dsve"]


def soak_env(deployment: Deployment, data_dir: Path, database_url: str, amqp_url: str, prefix: str) -> dict[str, str]:
    return {**broker_env(deployment, data_dir, database_url), "DSVE_AMQP_URL": amqp_url, "DSVE_AMQP_PREFIX": prefix}


def starting_at(amqp_url: str, index: int) -> str:
    """The node list of ``amqp_url`` rotated to start at node ``index`` (modulo their number)."""
    nodes = node_urls(amqp_url)
    first = index % len(nodes)
    return ",".join(nodes[first:] + nodes[:first])


class Brokers:
    """The broker processes; one can be killed and started again on its port."""

    def __init__(self, count: int, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.ports = [free_port() for _ in range(count)]
        self.names: dict[str, str] = {}  # process id -> broker index and start, for the duplicates' trace
        self.servers: list[ServerProcess] = [self._start(i) for i in range(count)]

    def _start(self, index: int) -> ServerProcess:
        amqp_url = starting_at(self.env["DSVE_AMQP_URL"], index)
        env = {**self.env, "DSVE_PORT": str(self.ports[index]), "DSVE_AMQP_URL": amqp_url}
        log = self.logs / f"broker{index}.log"
        with contextlib.suppress(FileNotFoundError):  # keep what the killed process wrote
            log.rename(log.with_suffix(f".{int(time.time())}.log"))
        server = start_server(f"broker{index}", [*DSVE_COMMAND, "serve"], env, self.ports[index], log)
        self.names[str(server.process.pid)] = (
            f"broker{index}#{sum(n.startswith(f'broker{index}#') for n in self.names.values()) + 1}"
        )
        return server

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    def kill(self, index: int) -> None:
        self.servers[index].process.kill()
        self.servers[index].process.wait()

    async def restart(self, index: int, timeout_s: float = 120.0) -> None:
        """Start a killed broker again as a process supervisor would: a start that exits because no writable
        database answers yet (a failover still under way) is tried again a second later, until the deadline."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.servers[index] = self._start(index)
            try:
                await wait_ready([self.servers[index]], "/readyz", max(1.0, deadline - time.monotonic()))
                return
            except RuntimeError:
                if self.servers[index].process.poll() is None or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(1.0)

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def error_lines(self) -> int:
        count = 0
        for log in self.logs.glob("broker*.log"):
            for line in log.read_text(errors="replace").splitlines():
                if '"level": "ERROR"' in line or "Traceback" in line:
                    count += 1
        return count
