"""End to end: signed messages submitted over HTTP until a consumer holds them; msg/s, latency, CPU, RSS.

Variants (``--variants``, comma-separated, run in this order in one invocation):

- ``naive``: the naive inline pipeline of ``bench/naive.py`` on PostgreSQL + RabbitMQ (the baseline);
- ``embedded``: the broker's default, SQLite + the in-process transport, consumers inside the broker;
- ``pg1`` / ``pg2``: the broker on PostgreSQL + RabbitMQ as one or two ``dsve serve`` processes;
- ``bare`` (only when named): ``bench/bare_http.py``, an aiohttp server that reads each request and answers
  it, nothing else: at an offered rate, the floor that any broker written on aiohttp pays per request.

Every server runs as a subprocess, the load generator and the RabbitMQ consumers in this process, so the
CPU time per message is the server's own (``/proc/<pid>/stat``, summed over its processes, from the start
of the timed part until the last delivery). Each variant also gets the machine's physical bound for the
workload (cores ÷ the CPU per message of the load generator, PostgreSQL and RabbitMQ: the msg/s if the
servers under test cost nothing) and its msg/s as a share of it. Messages are signed before anything is
timed; tokens are fetched once. Run from the repository root::

    python -m bench.e2e --duration 20                    # 128 clients, closed loop
    python -m bench.e2e --duration 20 --concurrency 32   # fewer clients: smaller batches, more CPU per message
    python -m bench.e2e --variants naive,pg1,pg2 --rounds 3   # interleaved; each ratio against its round's naive
    python -m bench.e2e --variants pg2 --rate 100 --duration 30      # latency at an offered rate
    python -m bench.e2e --variants naive,embedded,bare --rate 20     # CPU per message, its idle part, the floor
    python -m bench.e2e --variants pg1 --messages 100000 --duration 600 --rss-every 5   # RSS over 100k
    export DSVE_BENCH_POSTGRES_URL='postgresql://postgres@/test?host=/var/run/postgresql'   # then both
    python -m bench.e2e --variants naive,pg1,pg2         # pipelines reach PostgreSQL over its Unix socket
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bench.common import (
    RECIPIENTS,
    ServerProcess,
    SignedMessage,
    Tally,
    broker_env,
    delete_topology,
    fetch_tokens,
    free_port,
    new_deployment,
    new_run_id,
    postgres_database,
    presign,
    start_server,
    wait_ready,
)
from bench.figures import CpuWindow, Figures, figures, load_average, summary_lines
from bench.load_generator import kept_clients, submit_load
from bench.rabbit_consumer import rabbit_consumer
from participants.deployment import Deployment

AMQP_URL = os.environ.get("DSVE_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
POSTGRES_URL = os.environ.get("DSVE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SUBMIT_PATH = "/api/v1/messages"
VARIANTS = ("naive", "embedded", "pg1", "pg2")
EXTRA_VARIANTS = ("bare",)  # run only when named
DSVE = shutil.which("dsve") or "dsve"


def _broker_env(deployment: Deployment, data_dir: Path, database_url: str, amqp_prefix: str | None) -> dict[str, str]:
    env = {
        **broker_env(deployment, data_dir, database_url),
        **{k: v for k, v in os.environ.items() if k == "DSVE_OUTBOX_HIGH_WATER"},  # to try other marks
    }
    if amqp_prefix is not None:
        env["DSVE_AMQP_URL"] = AMQP_URL
        env["DSVE_AMQP_PREFIX"] = amqp_prefix
    return env


class _FlushSoon:
    """Flushes the delivery lines at most once per ``FLUSH_AFTER_S``: at once (at the end of this turn of
    the event loop) when the last flush is older than that, else when that much has passed since it. A
    timer runs only while lines wait (a flush every 5 ms whatever happened cost an idle broker ~4 ms of CPU
    a second, counted as the broker's); at low rates the flush rides on the delivery's own wake-up instead
    of waking the broker 5 ms later (a delivery at a time, that second wake-up is the harness's cost, not the
    broker's). The time in each line is taken at delivery, so the wait is not measured.
    """

    FLUSH_AFTER_S = 0.005

    def __init__(self, out: TextIO, loop: asyncio.AbstractEventLoop) -> None:
        self._out = out
        self._loop = loop
        self._timer: asyncio.Handle | None = None
        self._flushed_at = float("-inf")

    def __call__(self) -> None:
        if self._timer is None:
            due = self._flushed_at + self.FLUSH_AFTER_S
            if due <= self._loop.time():
                self._timer = self._loop.call_soon(self._flush)
            else:
                self._timer = self._loop.call_at(due, self._flush)

    def _flush(self) -> None:
        self._timer = None
        self._flushed_at = self._loop.time()
        self._out.flush()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._flush()


def _embedded_broker(port: int) -> int:
    """The broker app on the embedded defaults, with in-process consumers that print each delivery
    (reference and time) on stdout for the load generator: the in-process bus has no outside door."""
    from aiohttp import web

    from broker.app import create_app
    from broker.app_keys import TRANSPORT
    from broker.cli.server_commands import freeze_startup_heap
    from broker.config import Settings

    app = create_app(Settings.from_env())
    app.on_startup.append(freeze_startup_heap)  # as ``dsve serve`` does: the same collector pauses
    out = sys.stdout

    async def consumers(app: web.Application):  # type: ignore[no-untyped-def]
        transport = app[TRANSPORT]
        flush_soon = _FlushSoon(out, asyncio.get_running_loop())

        async def handler(delivery) -> None:  # type: ignore[no-untyped-def]
            out.write(f"{delivery.headers.get('sender-reference', '')} {time.time():.6f}\n")
            flush_soon()
            await delivery.ack()

        for orgnr in RECIPIENTS:
            await transport.ensure_participant(orgnr)
        subscriptions = [await transport.consume(orgnr, handler, prefetch=500) for orgnr in RECIPIENTS]
        yield
        flush_soon.close()
        for subscription in subscriptions:
            await subscription.cancel()

    app.cleanup_ctx.append(consumers)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)
    return 0


def _read_deliveries(server: ServerProcess, tally: Tally, loop: asyncio.AbstractEventLoop) -> threading.Thread:
    def read() -> None:
        assert server.process.stdout is not None
        for raw in server.process.stdout:
            reference, _, at = raw.decode().strip().partition(" ")
            if reference:
                loop.call_soon_threadsafe(tally.delivered, reference, float(at))

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


async def _sample_rss(servers: Sequence[ServerProcess], every_s: float, tally: Tally, log: bool) -> None:
    while True:
        await asyncio.sleep(every_s)
        for server in servers:
            with contextlib.suppress(OSError):
                server.rss_samples_kib.append(server.rss_kib())
        if log:
            rss = " ".join(f"{s.rss_samples_kib[-1] / 1024:.1f}" for s in servers if s.rss_samples_kib)
            print(f"    {len(tally.delivered_at):>8} delivered  RSS MiB {rss}", flush=True)


async def _measure(
    variant: str,
    servers: list[ServerProcess],
    tokens: dict[str, str],
    path: str,
    messages: Sequence[SignedMessage],
    warmup: int,
    args: argparse.Namespace,
    tally: Tally,
) -> Figures:
    urls = [s.url for s in servers]
    async with kept_clients(urls, path, args.concurrency) as clients:  # connected by the warm-up, reused after it
        await submit_load(tokens, messages[:warmup], Tally(), clients=clients, duration_s=60)
        await asyncio.sleep(1.0)  # let the warm-up drain before the clock starts
        tally.delivered_at.clear()
        idle_ms_per_s = await _idle_cpu(servers, args.idle_window) if args.rate else None
        timed = messages[warmup:]
        window = CpuWindow(servers)
        sampler = asyncio.create_task(_sample_rss(servers, args.rss_every, tally, args.rss_log))
        start = time.time()
        await submit_load(tokens, timed, tally, clients=clients, duration_s=args.duration, rate=args.rate)
        submitted_s = time.time() - start
    if variant == "bare":  # nothing is delivered: an answer is the whole of its work
        tally.delivered_at.update(tally.answered_at)
    if len(tally.sent_at) >= len(timed) and submitted_s < 0.98 * args.duration:
        print(f"    {variant}: all {len(timed)} signed messages sent after {submitted_s:.1f} s: raise --messages")
    tally.expect = len(tally.answered_at)
    if len([r for r in tally.answered_at if r in tally.delivered_at]) < tally.expect:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.delivered_event.wait(), args.drain)
    cpu = window.shares()
    sampler.cancel()
    peak = sum(s.peak_rss_kib() for s in servers)
    result = figures(
        variant, tally, start, cpu, peak, uses_services=variant not in ("embedded", "bare"), idle_ms_per_s=idle_ms_per_s
    )
    if args.rss_every and any(s.rss_samples_kib for s in servers):
        for server in servers:
            samples = server.rss_samples_kib
            if samples:
                print(
                    f"    {server.name}: RSS first {samples[0] / 1024:.1f} MiB, last {samples[-1] / 1024:.1f} MiB, "
                    f"max {max(samples) / 1024:.1f} MiB over {len(samples)} samples"
                )
    return result


async def _idle_cpu(servers: Sequence[ServerProcess], window_s: float) -> float | None:
    """The servers' CPU per second with nothing submitted: at an offered rate, the part of the CPU per message
    that comes from the clock (pollers, timers, heartbeats) rather than from the messages."""
    if window_s <= 0:
        return None
    before = sum(server.thread_cpu_ns() for server in servers)
    await asyncio.sleep(window_s)
    return (sum(server.thread_cpu_ns() for server in servers) - before) / 1e6 / window_s


async def _run_variant(
    variant: str, deployment: Deployment, messages: Sequence[SignedMessage], args: argparse.Namespace, work: Path
) -> Figures:
    run = new_run_id()
    prefix = f"dsvebench{run}"
    data_dir = work / f"data-{variant}-{run}"
    data_dir.mkdir()
    servers: list[ServerProcess] = []
    tally = Tally()
    stack = contextlib.AsyncExitStack()
    closers = []
    try:
        if variant == "bare":
            port = free_port()
            argv = [sys.executable, "-m", "bench.bare_http", "--port", str(port)]
            servers.append(start_server("bare", argv, {}, port, data_dir / "bare.log"))
            await wait_ready(servers)
            path = SUBMIT_PATH
        elif variant == "embedded":
            port = free_port()
            env = _broker_env(deployment, data_dir, f"sqlite+aiosqlite:///{data_dir / 'broker.db'}", None)
            argv = [sys.executable, "-m", "bench.e2e", "_embedded", "--port", str(port)]
            servers.append(start_server("broker", argv, env, port, data_dir / "broker.log", stdout=subprocess.PIPE))
            await wait_ready(servers)
            _read_deliveries(servers[0], tally, asyncio.get_running_loop())
            path = SUBMIT_PATH
        else:
            database_url = await stack.enter_async_context(postgres_database(POSTGRES_URL, run))
            if variant == "naive":
                port = free_port()
                env = {
                    "NAIVE_DATABASE_URL": database_url,
                    "NAIVE_AMQP_URL": AMQP_URL,
                    "NAIVE_AMQP_PREFIX": prefix,
                    "NAIVE_CA_FILE": str(deployment.pki.ca_cert_path),
                }
                servers.append(
                    start_server(
                        "naive",
                        [sys.executable, "-m", "bench.naive", "serve", "--port", str(port)],
                        env,
                        port,
                        data_dir / "naive.log",
                    )
                )
                await wait_ready(servers)
                path = "/messages"
            else:
                env = _broker_env(deployment, data_dir, database_url, prefix)
                if variant == "pg2":  # two processes use both cores already: a check worker each only adds hand-overs
                    env["DSVE_CHECK_WORKERS"] = os.environ.get("DSVE_CHECK_WORKERS", "0")
                for number in range(2 if variant == "pg2" else 1):
                    port = free_port()
                    argv = [DSVE, "serve", "--port", str(port)]
                    servers.append(
                        start_server(f"broker{number + 1}", argv, env, port, data_dir / f"broker{number + 1}.log")
                    )
                    await wait_ready(servers)  # one after the other: the first runs the migrations
                path = SUBMIT_PATH
            closers.append(await rabbit_consumer(AMQP_URL, prefix, tally))
        tokens = (
            await fetch_tokens(servers[0].url, deployment)
            if path == SUBMIT_PATH and variant != "bare"
            else {o: "-" for o in ("910000004", "930000000")}
        )
        return await _measure(variant, servers, tokens, path, messages, args.warmup, args, tally)
    finally:
        for close in closers:
            with contextlib.suppress(Exception):
                await close()
        for server in servers:
            server.stop()
        if variant != "embedded":
            with contextlib.suppress(Exception):
                await delete_topology(AMQP_URL, prefix)
        await stack.aclose()


async def _main(args: argparse.Namespace) -> int:
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    known = VARIANTS + EXTRA_VARIANTS
    unknown = set(variants) - set(known)
    if unknown:
        print(f"unknown variant(s): {', '.join(sorted(unknown))}; choose from {', '.join(known)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="dsve-bench-") as directory:
        work = Path(directory)
        deployment = new_deployment(work / "pki")
        started = time.time()
        messages = await asyncio.to_thread(presign, deployment, args.warmup + args.messages, new_run_id())
        print(
            f"signed {len(messages)} messages in {time.time() - started:.1f} s; "
            f"concurrency {args.concurrency}, duration {args.duration} s"
            + (f", offered {args.rate}/s" if args.rate else ", closed loop")
            + f"; cores {os.cpu_count()}",
            flush=True,
        )
        rounds: list[list[Figures]] = []
        for number in range(1, args.rounds + 1):
            if args.rounds > 1:
                print(f"  round {number} of {args.rounds}", flush=True)
            results: list[Figures] = []
            for variant in variants:
                print(f"  load before {variant}: {load_average()}", flush=True)
                result = await _run_variant(variant, deployment, messages, args, work)
                results.append(result)
                print(result.line(), flush=True)
            rounds.append(results)
        for line in summary_lines(rounds, open_loop=args.rate is not None):
            print(line)
        print(f"  load after: {load_average()}")
        failed = any(r.delivered == 0 or r.errors or r.refused for results in rounds for r in results)
        return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_embedded"]:
        inner = argparse.ArgumentParser()
        inner.add_argument("--port", type=int, required=True)
        return _embedded_broker(inner.parse_args(argv[1:]).port)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"comma-separated, of {', '.join(VARIANTS + EXTRA_VARIANTS)} (the last only when named)",
    )
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of timed submission per variant")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=128,
        help="concurrent HTTP clients (a national broker serves many participant systems at once; the "
        "broker's CPU per message falls as more submissions share a group commit, see bench/README.md)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the variants this many times, interleaved; each ratio is against the naive run of its own "
        "round and the median round is reported (the machine's speed drifts within minutes)",
    )
    parser.add_argument("--rate", type=float, default=None, help="offered msg/s (open loop); default closed loop")
    parser.add_argument("--messages", type=int, default=60000, help="timed messages signed up front (the cap)")
    parser.add_argument("--warmup", type=int, default=300, help="messages sent before the clock starts")
    parser.add_argument("--drain", type=float, default=60.0, help="seconds to wait for the last deliveries")
    parser.add_argument(
        "--idle-window",
        type=float,
        default=3.0,
        help="at an offered rate, seconds of each server's idle CPU read before the timed part (0: none)",
    )
    parser.add_argument("--rss-every", type=float, default=2.0, help="seconds between RSS samples")
    parser.add_argument("--rss-log", action="store_true", help="print each RSS sample (for long runs)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main())
