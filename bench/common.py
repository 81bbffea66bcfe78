"""What the end-to-end benchmarks share: identities, pre-signed messages, server processes, the load
generator and the delivery consumer.

The load generator and the consumer run in the benchmark's own process; every server (the broker, the
naive baseline) runs as a subprocess, so the CPU time read from ``/proc/<pid>/stat`` is the server's alone.
Latency is measured on one clock (``time.time()`` of this machine): from just before a submission is
sent to the moment a consumer holds it, matched by the unique sender reference each message carries.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from lxml import etree

from broker.config import REPO_XSD_DIR
from broker.routing.topology import Topology
from broker.xml.inner_signatures import SignedDocuments, named_signers
from broker.xml.keys import SigningCredential
from broker.xml.signing import sign_enveloped_bytes, sign_inner_document
from participants.deployment import BUYERS_BANK, MEGLER, Deployment, init_deployment
from participants.sdk.tokens import JWT_BEARER_GRANT, build_grant_assertion

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO_XSD_DIR / "examples"
AUDIENCE = "dsve-broker"
HEADER_SENDER_REFERENCE = "sender-reference"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
REQUEST_TIMEOUT_S = 60.0

# The message mix: two bank → megler types and one megler → bank, so two inboxes receive.
MIX: tuple[tuple[str, str, str], ...] = (
    ("pantedokument", BUYERS_BANK, MEGLER),
    ("intensjonFraBank", BUYERS_BANK, MEGLER),
    ("kjoepekontraktsvar", MEGLER, BUYERS_BANK),
)
RECIPIENTS: tuple[str, ...] = (MEGLER, BUYERS_BANK)
SENDERS: tuple[str, ...] = (BUYERS_BANK, MEGLER)


# --- messages -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignedMessage:
    sender: str
    reference: str  # unique: the key that matches a delivery to its submission
    body: bytes


def _set_text(root: etree._Element, path: Sequence[str], value: str) -> None:
    node = root
    for step in path:
        node = next(child for child in node if etree.QName(child).localname == step)
    node.text = value


_credentials: dict[str, SigningCredential] = {}
_templates: dict[str, bytes] = {}


def _sign_worker_init(pki_dir: str) -> None:
    for orgnr in SENDERS:
        base = Path(pki_dir) / "enterprise"
        _credentials[orgnr] = SigningCredential.from_files(base / f"{orgnr}-key.pem", base / f"{orgnr}.pem")
    for message_type, _, _ in MIX:
        _templates[message_type] = _with_inner_signatures((EXAMPLES / f"{message_type}.xml").read_bytes(), pki_dir)


def _with_inner_signatures(data: bytes, pki_dir: str) -> bytes:
    """The template with its inner documents (a mortgage) signed by those they name, once: an inner signature
    covers only its document, which is the same in every message made from the template."""
    root = etree.fromstring(data)
    for tag, document in SignedDocuments.load(REPO_XSD_DIR).documents.items():
        for element in list(root.iter(tag)):
            container = element.getnext()
            if container is None or etree.QName(container).localname != "signaturer" or len(container):
                continue
            for identifier in sorted(named_signers(element, document)):
                kind = "persons" if len(identifier) == 11 else "enterprise"
                base = Path(pki_dir) / kind
                credential = SigningCredential.from_files(base / f"{identifier}-key.pem", base / f"{identifier}.pem")
                sign_inner_document(root, element.get("Id", ""), container, credential)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _sign_range(run: str, start: int, stop: int) -> list[SignedMessage]:
    signed = []
    for index in range(start, stop):
        message_type, sender, _ = MIX[index % len(MIX)]
        root = etree.fromstring(_templates[message_type])
        reference = f"b{run}-{index}"
        _set_text(root, ("hode", "meldingsid"), str(uuid.uuid4()))
        _set_text(root, ("hode", "avsendersReferanse"), reference)
        data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        signed.append(SignedMessage(sender, reference, sign_enveloped_bytes(data, _credentials[sender])))
    return signed


def presign(deployment: Deployment, count: int, run: str, workers: int = 2) -> list[SignedMessage]:
    """``count`` distinct signed messages (fresh message ids, unique references), signed in ``workers``
    processes before anything is timed: signing costs more than verifying and is the clients' work."""
    chunk = max(1, -(-count // (workers * 8)))
    ranges = [(start, min(start + chunk, count)) for start in range(0, count, chunk)]
    with ProcessPoolExecutor(workers, initializer=_sign_worker_init, initargs=(str(deployment.pki.directory),)) as pool:
        parts = pool.map(_sign_range, [run] * len(ranges), *zip(*ranges, strict=True))
        return [message for part in parts for message in part]


# --- services -------------------------------------------------------------------------------------


def broker_env(deployment: Deployment, data_dir: Path, database_url: str) -> dict[str, str]:
    """A benchmark broker's settings: the deployment's trust and participants, a store, quiet logs, and no
    lifecycle pass during the run."""
    return {
        "DSVE_DATA_DIR": str(data_dir),
        "DSVE_DATABASE_URL": database_url,
        "DSVE_TRUST_CA_FILES": str(deployment.pki.ca_cert_path),
        "DSVE_PARTICIPANTS_FILE": str(deployment.participants_file),
        "DSVE_TOKEN_KEY_FILE": str(data_dir / "token-key.pem"),
        "DSVE_TOKEN_LIFETIME": "7200",
        "DSVE_LOG_LEVEL": "WARNING",
        "DSVE_LIFECYCLE_INTERVAL": "3600",
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _admin(server_url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def postgres_database(server_url: str, run: str) -> AsyncIterator[str]:
    """A database of this run's own, as an asyncpg URL; dropped afterwards."""
    name = f"dsvebench_{run}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield urlsplit(server_url)._replace(scheme="postgresql+asyncpg", path=f"/{name}").geturl()
    finally:
        await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def delete_topology(amqp_url: str, prefix: str) -> None:
    """Delete every queue and exchange a run declared under ``prefix``."""
    import aio_pika

    topology = Topology(prefix)
    connection = await aio_pika.connect(amqp_url)
    try:
        for name in [
            topology.broker_dead_queue,
            *(q for o in RECIPIENTS + SENDERS for q in topology.participant_queues(o)),
        ]:
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.queue_delete(name)
        for name in topology.exchanges():
            channel = await connection.channel()
            with contextlib.suppress(Exception):
                await channel.exchange_delete(name)
    finally:
        await connection.close()


@dataclass(slots=True)
class ServerProcess:
    """A server subprocess: its CPU time and memory, with its check workers', come from ``/proc``."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    rss_samples_kib: list[int] = field(default_factory=list)

    def _children(self) -> list[int]:
        """The server's live child processes (its check workers)."""
        pids: list[int] = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            try:
                pids.extend(int(pid) for pid in (task / "children").read_text().split())
            except OSError:
                continue
        return pids

    def cpu_s(self) -> float:
        """CPU time of the server and its children, live (their own) or ended (reaped by it)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
        for child in self._children():
            try:
                child_fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(child_fields[11]) + int(child_fields[12])
        return ticks / CLOCK_TICKS

    def thread_cpu_ns(self) -> int:
        """CPU time of the server's and its children's live threads, in nanoseconds (``schedstat``): for
        short windows, where ``cpu_s``'s clock ticks (10 ms) are too coarse. Threads that ended are missed."""
        total = 0
        for pid in (self.process.pid, *self._children()):
            try:
                tasks = list(Path(f"/proc/{pid}/task").iterdir())
            except OSError:
                continue
            for task in tasks:
                try:
                    total += int((task / "schedstat").read_text().split()[0])
                except (OSError, IndexError, ValueError):
                    continue
        return total

    @staticmethod
    def _status_kib(pid: int, key: str) -> int:
        try:
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            return 0
        for line in lines:
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def rss_kib(self) -> int:
        """The server's resident memory with its children's (pages they share counted in each)."""
        return sum(self._status_kib(pid, "VmRSS") for pid in (self.process.pid, *self._children()))

    def peak_rss_kib(self) -> int:
        """The sum of the server's and its live children's peaks (``VmHWM``): an upper bound of the peak."""
        return sum(self._status_kib(pid, "VmHWM") for pid in (self.process.pid, *self._children()))

    def own_peak_rss_kib(self) -> int:
        """The server process's own peak, without its children's."""
        return self._status_kib(self.process.pid, "VmHWM")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(
    name: str, argv: list[str], env: dict[str, str], port: int, log: Path, stdout: int | None = None
) -> ServerProcess:
    """Start a server; its stderr goes to ``log``, shown when it fails to start."""
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            argv, env={**os.environ, **env}, cwd=REPO, stdout=stdout, stderr=stderr, start_new_session=True
        )
    return ServerProcess(name, process, f"http://127.0.0.1:{port}", log)


async def wait_ready(servers: Sequence[ServerProcess], path: str = "/healthz", timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        for server in servers:
            while True:
                if server.process.poll() is not None:
                    tail = server.log.read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{tail}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(server.url + path) as response:
                        if response.status == 200:
                            break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{server.name} was not ready within {timeout_s} s")
                await asyncio.sleep(0.1)


async def fetch_tokens(url: str, deployment: Deployment) -> dict[str, str]:
    """One access token per sender, obtained once before the timed part."""
    tokens = {}
    async with aiohttp.ClientSession() as session:
        for orgnr in SENDERS:
            credential = deployment.pki.enterprise[orgnr].load()
            form = {"grant_type": JWT_BEARER_GRANT, "assertion": build_grant_assertion(orgnr, credential, AUDIENCE)}
            async with session.post(url + "/token", data=form) as response:
                response.raise_for_status()
                tokens[orgnr] = (await response.json())["access_token"]
    return tokens


# --- load and delivery ----------------------------------------------------------------------------


@dataclass(slots=True)
class Tally:
    """What one run saw, keyed by sender reference."""

    sent_at: dict[str, float] = field(default_factory=dict)
    answered_at: dict[str, float] = field(default_factory=dict)
    delivered_at: dict[str, float] = field(default_factory=dict)
    refused: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    duplicates: int = 0
    delivered_event: asyncio.Event = field(default_factory=asyncio.Event)
    expect: int = 0

    def delivered(self, reference: str, at: float) -> None:
        if reference in self.delivered_at:
            self.duplicates += 1
            return
        self.delivered_at[reference] = at
        if self.expect and len(self.delivered_at) >= self.expect:
            self.delivered_event.set()


async def declare_recipients(amqp_url: str, prefix: str) -> None:
    """The recipients' queues, declared by the broker's own transport (its names and arguments); a quorum
    queue's first leader is the node it was declared on."""
    from broker.routing.rabbitmq import RabbitMqTransport

    transport = RabbitMqTransport(amqp_url, prefix=prefix, connection_name="dsve-bench-declare")
    await transport.start()
    try:
        for orgnr in RECIPIENTS:
            await transport.ensure_participant(orgnr)
    finally:
        await transport.close()


def python() -> str:
    return sys.executable


def new_run_id() -> str:
    return uuid.uuid4().hex[:8]


def new_deployment(directory: Path) -> Deployment:
    return init_deployment(directory)
