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
_DIST_OFFSET = 5000  # a node's distribution port, above its AMQP port


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


def _ephemeral_start() -> int:
    """The lowest port the kernel hands out to outgoing connections (Linux reads it from /proc)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _quiet_ports(offsets: tuple[int, ...], span: int) -> int:
    """A base port such that base + each offset is free now and below the ephemeral range.

    A server killed and started again must get its port back. A port inside the ephemeral range can be taken in
    between by any outgoing connection on the machine (the brokers' own, the load generator's), and a RabbitMQ
    node whose distribution port is taken exits before it writes its pid file, so the start waits out its whole
    timeout (seen as a soak test hanging once in CI).
    """
    top = min(_ephemeral_start(), 65536) - span - 1
    for _ in range(200):
        base = random.randrange(10000, top, 10)
        if all(_bindable(base + offset) for offset in offsets):
            return base
    raise RuntimeError("no free ports below the ephemeral range")


def free_port() -> int:
    """A free port below the ephemeral range (see :func:`_quiet_ports`)."""
    return _quiet_ports((0,), 0)


@dataclass(frozen=True)
class RabbitCluster:
    base: Path
    port_base: int
    node_prefix: str

    @classmethod
    def for_run(cls, run: str) -> RabbitCluster:
        port_base = _quiet_ports((1, 2, 3, _DIST_OFFSET + 1, _DIST_OFFSET + 2, _DIST_OFFSET + 3), _DIST_OFFSET + 10)
        return cls(Path(f"/tmp/dsve-rmq-{run}"), port_base, f"dsve{run[:8]}-")

    def run(self, *args: str, timeout: float = 1800) -> str:
        env = {
            "DSVE_RABBIT_CLUSTER_DIR": str(self.base),
            "DSVE_RABBIT_PORT_BASE": str(self.port_base),
            "DSVE_RABBIT_DIST_PORT_BASE": str(self.port_base + _DIST_OFFSET),
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
