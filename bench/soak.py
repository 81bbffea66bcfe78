"""Soak: several broker processes on a three-node RabbitMQ cluster and a PostgreSQL primary with a synchronous
standby, a paced load, and faults injected while it runs; every delivery is counted by a consumer of its own.

    python -m bench.soak --messages 20000 --rate 200 --brokers 2 --faults broker,leader,postgres

Unless ``--amqp-url`` and ``--database-url`` name running servers, the run starts its own clusters with
``scripts/rabbitmq-cluster.sh`` and ``scripts/postgres-failover.sh`` (own ports and directories) and removes
them at the end. Faults, spread over the run: ``broker`` kills a broker process with SIGKILL (restarted 5 s
later), ``leader`` kills the RabbitMQ node leading the first recipient's inbox with SIGKILL (restarted 10 s
later), ``postgres`` kills the primary with SIGKILL and promotes the standby. A submission answered 503 or
not answered is sent again (to the next broker): the same document is idempotent. Printed at the end: lost
(accepted, never delivered), extra (delivered, never submitted), duplicate deliveries, delay from first
send to first delivery (p50, p99, max), answers by status, messages not ``published`` or later in the
store, and error lines in the brokers' logs. Exit status 1 when anything is lost or extra.

The processes spread over the nodes as behind a load balancer: broker ``i`` is given the node list starting
at node ``i``, the consumer the one after the brokers' (``--consumer-node`` picks another). The queues are
declared from the first node, as the first broker would, so that node leads them; with two brokers the
leader kill then cuts off a broker but not the consumer. ``--consumer-node 0`` puts the consumer on the
killed node, where RabbitMQ hands it again what it had acknowledged but the dying leader had not committed
(bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.clusters import PostgresPair, RabbitCluster
from bench.common import (
    RECIPIENTS,
    SignedMessage,
    declare_recipients,
    delete_topology,
    fetch_tokens,
    new_deployment,
    new_run_id,
    presign,
    wait_ready,
)
from bench.figures import percentile
from bench.soak_breakdown import delay_timeline, duplicates_by_fault, not_yet_published, slowest
from bench.soak_brokers import DSVE_COMMAND, Brokers, soak_env, starting_at
from bench.soak_duplicates import Copy, trace_duplicates
from broker.routing.amqp_nodes import node_urls
from broker.routing.rabbitmq import RabbitMqTransport
from broker.routing.relay_publish import HEADER_PUBLISHED_BY
from broker.routing.topology import Topology
from broker.routing.transport import Delivery

FAULTS = ("broker", "leader", "postgres")
BROKER_RESTART_S = 5.0
NODE_RESTART_S = 10.0
RETRY_PAUSE_S = 0.2
REQUEST_TIMEOUT_S = 30.0
# Unacknowledged deliveries per consumer: all of them come again when its connection drops (at-least-once).
CONSUMER_PREFETCH = 32


@dataclass
class Soak:
    """What one run saw, keyed by sender reference."""

    first_sent: dict[str, float] = field(default_factory=dict)
    accepted: set[str] = field(default_factory=set)
    answered: dict[str, float] = field(default_factory=dict)
    delivered: dict[str, float] = field(default_factory=dict)
    deliveries: int = 0
    # Duplicates RabbitMQ flagged as redelivered: handed out again after a consumer's connection was lost
    # before its ack arrived (the rest were published twice by the broker).
    redelivered_duplicates: int = 0
    duplicate_at: list[tuple[float, bool]] = field(default_factory=list)  # when, and whether redelivered
    copies: dict[str, list[Copy]] = field(default_factory=dict)  # every delivery, by reference
    answers: Counter[str] = field(default_factory=Counter)
    faults: list[tuple[float, str]] = field(default_factory=list)
    # Set when the last accepted message still missing arrives (``expect_all`` fills ``missing``).
    missing: set[str] = field(default_factory=set)
    all_delivered: asyncio.Event = field(default_factory=asyncio.Event)
    _marks: dict[int, asyncio.Event] = field(default_factory=dict)

    def deliver(self, reference: str, redelivered: bool, published_by: str = "") -> None:
        self.deliveries += 1
        self.copies.setdefault(reference, []).append((time.time(), redelivered, published_by))
        if reference in self.delivered:
            self.duplicate_at.append((time.time(), redelivered))
            self.redelivered_duplicates += redelivered
        self.delivered.setdefault(reference, time.time())
        if self.missing:
            self.missing.discard(reference)
            if not self.missing:
                self.all_delivered.set()

    def sent(self, reference: str) -> None:
        self.first_sent[reference] = time.time()
        mark = self._marks.pop(len(self.first_sent), None)
        if mark is not None:
            mark.set()

    async def until_sent(self, count: int) -> None:
        if len(self.first_sent) < count:
            await self._marks.setdefault(count, asyncio.Event()).wait()

    def expect_all(self) -> None:
        self.missing = self.accepted - self.delivered.keys()
        if not self.missing:
            self.all_delivered.set()


async def submit_all(
    urls: Sequence[str], tokens: dict[str, str], messages: Sequence[SignedMessage], rate: float, soak: Soak
) -> None:
    """Open loop at ``rate``; each message is sent until a broker answers 200 or 201 (retries go round the
    brokers, so a killed one costs a retry, not a message)."""
    headers = {o: {"Authorization": f"Bearer {t}", "Content-Type": "application/xml"} for o, t in tokens.items()}
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=256)) as session:

        async def one(index: int, message: SignedMessage) -> None:
            soak.sent(message.reference)
            attempt = index
            while True:
                url = urls[attempt % len(urls)] + "/api/v1/messages"
                try:
                    async with session.post(url, data=message.body, headers=headers[message.sender]) as answer:
                        await answer.read()
                        soak.answers[str(answer.status)] += 1
                        if answer.status in (200, 201):
                            soak.accepted.add(message.reference)
                            soak.answered[message.reference] = time.time()
                            return
                        if answer.status < 500:
                            return  # refused: a fault of the harness, reported in the answers
                except (aiohttp.ClientError, TimeoutError, OSError):
                    soak.answers["no answer"] += 1
                attempt += 1
                await asyncio.sleep(RETRY_PAUSE_S)

        start = time.time()
        tasks = []
        for index, message in enumerate(messages):
            delay = start + index / rate - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index, message)))
        await asyncio.gather(*tasks)


async def inject(
    kind: str, after: int, soak: Soak, brokers: Brokers, rabbit: RabbitCluster | None, pg: PostgresPair | None
) -> None:
    """Wait until ``after`` messages were sent, then inject the fault (and undo it later where it is undone)."""
    await soak.until_sent(after)
    if kind == "broker":
        brokers.kill(0)
        soak.faults.append((time.time(), "broker 0 killed (SIGKILL)"))
        await asyncio.sleep(BROKER_RESTART_S)
        await brokers.restart(0)
        soak.faults.append((time.time(), "broker 0 started again"))
    elif kind == "leader" and rabbit is not None:
        queue = Topology(brokers.env["DSVE_AMQP_PREFIX"]).inbox_queue(RECIPIENTS[0])
        node = await asyncio.to_thread(rabbit.leader, queue)
        await asyncio.to_thread(rabbit.kill, node)
        soak.faults.append((time.time(), f"RabbitMQ node {node} (leader of {queue}) killed (SIGKILL)"))
        await asyncio.sleep(NODE_RESTART_S)
        await asyncio.to_thread(rabbit.restart, node)
        soak.faults.append((time.time(), f"RabbitMQ node {node} started again"))
    elif kind == "postgres" and pg is not None:
        killed = time.time()  # the script kills first, then promotes (which may take seconds on a busy machine)
        await asyncio.to_thread(pg.run, "failover")
        soak.faults.append(
            (
                killed,
                f"PostgreSQL primary killed (SIGKILL), standby promoted (done {time.time() - killed:.1f} s later)",
            )
        )
        soak.faults.sort()


async def consume(amqp_url: str, prefix: str, soak: Soak) -> RabbitMqTransport:
    """A consumer of every recipient's inbox on a connection of its own (robust, over every node)."""
    transport = RabbitMqTransport(amqp_url, prefix=prefix, connection_name="dsve-soak-consumer")
    await transport.start()

    async def handle(delivery: Delivery) -> None:
        headers = delivery.headers
        soak.deliver(headers.get("sender-reference", ""), delivery.redelivered, headers.get(HEADER_PUBLISHED_BY, ""))
        await delivery.ack()

    for orgnr in RECIPIENTS:
        await transport.consume(orgnr, handle, prefetch=CONSUMER_PREFETCH)
    return transport


def report(
    soak: Soak, submitted: Sequence[SignedMessage], unpublished: int, errors: int, elapsed: float
) -> dict[str, Any]:
    sent = {m.reference for m in submitted}
    lost = soak.accepted - soak.delivered.keys()
    extra = soak.delivered.keys() - sent
    by_ref = {r: soak.delivered[r] - soak.first_sent[r] for r in soak.delivered.keys() & soak.first_sent.keys()}
    delays = list(by_ref.values())
    duplicates = soak.deliveries - len(soak.delivered)
    return {
        "messages": len(submitted),
        "accepted": len(soak.accepted),
        "delivered": len(soak.delivered),
        "lost": len(lost),
        "extra": len(extra),
        "duplicates": duplicates,
        "duplicate_pct": round(100 * duplicates / max(1, len(submitted)), 4),
        "duplicates_redelivered": soak.redelivered_duplicates,
        "duplicates_published_twice": duplicates - soak.redelivered_duplicates,
        "delay_p50_s": round(percentile(delays, 0.50), 3) if delays else None,
        "delay_p99_s": round(percentile(delays, 0.99), 3) if delays else None,
        "delay_max_s": round(max(delays), 3) if delays else None,
        "answers": dict(soak.answers),
        "status_500": soak.answers.get("500", 0),
        "not_published": unpublished,
        "broker_error_lines": errors,
        "elapsed_s": round(elapsed, 1),
        "over_5s": sum(1 for delay in delays if delay > 5.0),
        # The longest delay of a message first sent in the 5 s before each fault: what the fault held up.
        "worst_delay_before_fault_s": {
            what: round(max((d for r, d in by_ref.items() if at - 5.0 <= soak.first_sent[r] <= at), default=0.0), 3)
            for at, what in soak.faults
            if "again" not in what
        },
        "duplicates_after_fault": duplicates_by_fault(soak.duplicate_at, soak.faults),
        "faults": [f"+{at - min(soak.first_sent.values(), default=at):.1f}s {what}" for at, what in soak.faults],
        "delay_by_send_time": delay_timeline(soak.first_sent, soak.delivered),
        "load_average_1m_at_end": round(os.getloadavg()[0], 1),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    run_id = new_run_id()
    work = Path(tempfile.mkdtemp(prefix=f"dsve-soak-{run_id}-"))
    faults = [f for f in args.faults.split(",") if f]
    rabbit = None if args.amqp_url else RabbitCluster.for_run(f"soak{run_id}")
    pg = None if args.database_url else PostgresPair.for_run(f"soak{run_id}")
    brokers: Brokers | None = None
    consumer: RabbitMqTransport | None = None
    prefix = f"dsvesoak{run_id}"
    try:
        if rabbit is not None:
            await asyncio.to_thread(rabbit.run, "start")
        if pg is not None:
            await asyncio.to_thread(pg.run, "start")
        amqp_url = args.amqp_url or rabbit.url  # type: ignore[union-attr]
        database_url = args.database_url or pg.url  # type: ignore[union-attr]
        deployment = new_deployment(work / "pki")
        messages = presign(deployment, args.messages, run_id)
        env = soak_env(deployment, work / "data", database_url, amqp_url, prefix)
        migrate = await asyncio.create_subprocess_exec(*DSVE_COMMAND, "db", "upgrade", env={**os.environ, **env})
        await migrate.wait()
        brokers = Brokers(args.brokers, env, work)
        await wait_ready(brokers.servers, "/readyz", 120)
        soak = Soak()
        # Declared from the first node, as the first broker would, so that node leads them and the consumer
        # (on another node) does not make its own node the one the leader kill takes down.
        await declare_recipients(starting_at(amqp_url, 0), prefix)
        consumer_node = args.brokers if args.consumer_node is None else args.consumer_node
        consumer = await consume(starting_at(amqp_url, consumer_node), prefix, soak)
        tokens = await fetch_tokens(brokers.urls[-1], deployment)
        started = time.time()
        spots = [args.messages * (n + 1) // (len(faults) + 1) for n in range(len(faults))]
        injections = [
            asyncio.create_task(inject(kind, at, soak, brokers, rabbit, pg))
            for kind, at in zip(faults, spots, strict=True)
        ]
        await submit_all(brokers.urls, tokens, messages, args.rate, soak)
        await asyncio.gather(*injections)
        soak.expect_all()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(soak.all_delivered.wait(), args.drain_timeout)
        await asyncio.sleep(args.settle_s)  # late duplicates count too
        elapsed = time.time() - started
        unpublished = await not_yet_published(database_url, args.drain_timeout)
        figures = report(soak, messages, unpublished, brokers.error_lines(), elapsed)
        cpu_s = sum(server.cpu_s() for server in brokers.servers)  # the running ones: a killed one's is gone
        figures["broker_cpu_ms_per_message"] = round(1000 * cpu_s / max(1, len(soak.accepted)), 3)
        figures["duplicates_traced"] = trace_duplicates(soak.copies, soak.faults, brokers.names)
        figures["slowest"] = await slowest(database_url, soak.first_sent, soak.answered, soak.delivered)
        figures["logs"] = str(work)
        return figures
    finally:
        if consumer is not None:
            await consumer.close()
        if brokers is not None:
            brokers.stop()
        if args.amqp_url:  # servers of others: remove what this run declared
            with contextlib.suppress(Exception):
                await delete_topology(node_urls(args.amqp_url)[0], prefix)
        if rabbit is not None:
            await asyncio.to_thread(rabbit.run, "stop")
        if pg is not None:
            await asyncio.to_thread(pg.run, "stop")
        if not args.keep_logs:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0, help="messages per second offered")
    parser.add_argument("--brokers", type=int, default=2)
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"comma-separated, of {', '.join(FAULTS)}")
    parser.add_argument("--amqp-url", help="running RabbitMQ node(s); default: start a three-node cluster")
    parser.add_argument("--database-url", help="running PostgreSQL; default: start a primary and a standby")
    parser.add_argument("--drain-timeout", type=float, default=120.0, help="wait this long for the last deliveries")
    parser.add_argument(
        "--consumer-node", type=int, help="the node the consumer connects to first (default: after the brokers')"
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the brokers' logs (the path is printed)")
    parser.add_argument("--settle-s", type=float, default=2.0, help="and this long for late duplicates")
    args = parser.parse_args(argv)
    unknown = set(args.faults.split(",")) - set(FAULTS) - {""}
    if unknown:
        parser.error(f"unknown faults: {', '.join(sorted(unknown))}")
    figures = asyncio.run(run(args))
    json.dump(figures, sys.stdout, indent=2)
    print()
    return 1 if figures["lost"] or figures["extra"] else 0


if __name__ == "__main__":
    sys.exit(main())
