"""The development clusters of ``scripts/`` driven from Python: a three-node RabbitMQ cluster and a
PostgreSQL primary with a synchronous standby, each on ports and in a directory of its own, so a soak run
or a test never touches the servers on 5672 and 5432 (or another run's clusters)."""

from __future__ import annotations

import os
import random
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RABBITMQ_SCRIPT = REPO / "scripts" / "rabbitmq-cluster.sh"
POSTGRES_SCRIPT = REPO / "scripts" / "postgres-failover.sh"


def _run(script: Path, env: dict[str, str], args: tuple[str, ...], timeout: float) -> str:
    done = subprocess.run(
        ["bash", str(script), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{script.name} {' '.join(args)} failed: {done.stdout}{done.stderr}")
    return done.stdout.strip()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class RabbitCluster:
    base: Path
    port_base: int
    node_prefix: str

    @classmethod
    def for_run(cls, run: str) -> RabbitCluster:
        for _ in range(50):
            port_base = random.randrange(30000, 40000, 10)
            if not any(_listening(port_base + n) or _listening(port_base + 20000 + n) for n in (1, 2, 3)):
                return cls(Path(f"/tmp/dsve-rmq-{run}"), port_base, f"dsve{run[:8]}-")
        raise RuntimeError("no free ports for a RabbitMQ cluster")

    def run(self, *args: str, timeout: float = 1800) -> str:
        env = {
            "DSVE_RABBIT_CLUSTER_DIR": str(self.base),
            "DSVE_RABBIT_PORT_BASE": str(self.port_base),
            "DSVE_RABBIT_DIST_PORT_BASE": str(self.port_base + 20000),
            "DSVE_RABBIT_NODE_PREFIX": self.node_prefix,
        }
        return _run(RABBITMQ_SCRIPT, env, args, timeout)

    @property
    def url(self) -> str:
        """The three nodes as the broker takes them (``DSVE_AMQP_URL``)."""
        return self.run("urls")

    def leader(self, queue: str) -> int:
        """The node (1, 2 or 3) that leads a quorum queue."""
        return int(self.run("leader", queue))

    def kill(self, node: int) -> None:
        self.run("kill", str(node))

    def restart(self, node: int) -> None:
        self.run("restart", str(node))


@dataclass(frozen=True)
class PostgresPair:
    base: Path
    primary_port: int
    standby_port: int
    database: str = "dsve"

    @classmethod
    def for_run(cls, run: str) -> PostgresPair:
        return cls(Path(f"/tmp/dsve-pg-{run}"), free_port(), free_port())

    def run(self, *args: str, timeout: float = 120) -> str:
        env = {
            "DSVE_PG_CLUSTER_DIR": str(self.base),
            "DSVE_PG_PRIMARY_PORT": str(self.primary_port),
            "DSVE_PG_STANDBY_PORT": str(self.standby_port),
            "DSVE_PG_DATABASE": self.database,
        }
        return _run(POSTGRES_SCRIPT, env, args, timeout)

    @property
    def primary_url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.primary_port}/{self.database}"

    @property
    def url(self) -> str:
        """Both hosts; the driver connects to whichever takes writes."""
        return (
            f"postgresql+asyncpg://postgres@/{self.database}?host=127.0.0.1:{self.primary_port}"
            f"&host=127.0.0.1:{self.standby_port}&target_session_attrs=read-write"
        )
