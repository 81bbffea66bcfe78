"""File transfers through the Altinn-compatible API, against one ``dsve serve`` on PostgreSQL + RabbitMQ.

``large``: one file of ``--size-mib`` uploaded (streamed, MD5 named at initialize) and downloaded, with the
broker's RSS sampled every 50 ms (its peak, VmHWM, reported). ``small``: ``--transfers`` small files, each
initialized and uploaded by the sender (two requests, or one multipart request with ``--multipart``), then
downloaded and confirmed by the recipient, ``--concurrency`` at a time; transfers per second end to end, and
the CPU per transfer of the broker, PostgreSQL, RabbitMQ and the load generator.

    nice python -m bench.file_transfers large --size-mib 1024
    nice python -m bench.file_transfers small --transfers 2000 --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from bench.common import (
    AUDIENCE,
    ServerProcess,
    delete_topology,
    free_port,
    new_deployment,
    new_run_id,
    postgres_database,
    start_server,
    wait_ready,
)
from bench.figures import CpuWindow, physical_bound
from participants.deployment import BUYERS_BANK, MEGLER, Deployment
from participants.sdk.tokens import JWT_BEARER_GRANT, build_grant_assertion

AMQP_URL = os.environ.get("DSVE_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
POSTGRES_URL = os.environ.get("DSVE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
DSVE = shutil.which("dsve") or "dsve"
BASE = "/broker/api/v1/filetransfer"
RESOURCE = "bench_files"
MIB = 1024 * 1024


async def _token(session: aiohttp.ClientSession, url: str, deployment: Deployment, orgnr: str, scope: str) -> str:
    credential = deployment.pki.enterprise[orgnr].load()
    assertion = build_grant_assertion(orgnr, credential, AUDIENCE, scope=scope)
    async with session.post(url + "/token", data={"grant_type": JWT_BEARER_GRANT, "assertion": assertion}) as r:
        r.raise_for_status()
        return str((await r.json())["access_token"])


async def _sample_peak(server: ServerProcess, stop: asyncio.Event) -> None:
    while not stop.is_set():
        server.rss_samples_kib.append(server.rss_kib())
        await asyncio.sleep(0.05)


async def _initialize(session: aiohttp.ClientSession, url: str, sender: str, checksum: str) -> str:
    body = {
        "fileName": "bench.bin",
        "resourceId": RESOURCE,
        "sender": f"0192:{MEGLER}",
        "recipients": [f"0192:{BUYERS_BANK}"],
        "checksum": checksum,
    }
    async with session.post(url + BASE, json=body, headers={"Authorization": f"Bearer {sender}"}) as r:
        r.raise_for_status()
        return str((await r.json())["fileTransferId"])


async def _initialize_and_upload(
    session: aiohttp.ClientSession, url: str, sender: str, data: bytes, checksum: str
) -> str:
    """Altinn's one-request form for a small file: ``Metadata.*`` fields, then the file."""
    form = aiohttp.FormData()
    form.add_field("Metadata.FileName", "bench.bin")
    form.add_field("Metadata.ResourceId", RESOURCE)
    form.add_field("Metadata.Sender", f"0192:{MEGLER}")
    form.add_field("Metadata.Recipients", f"0192:{BUYERS_BANK}")
    form.add_field("Metadata.Checksum", checksum)
    form.add_field("FileTransfer", data, filename="bench.bin", content_type="application/octet-stream")
    async with session.post(url + BASE + "/upload", data=form, headers={"Authorization": f"Bearer {sender}"}) as r:
        r.raise_for_status()
        return str((await r.json())["fileTransferId"])


async def _large(
    session: aiohttp.ClientSession, url: str, tokens: dict[str, str], server: ServerProcess, mib: int
) -> None:
    block = os.urandom(MIB)
    digest = hashlib.md5(usedforsecurity=False)
    for _ in range(mib):
        digest.update(block)
    transfer_id = await _initialize(session, url, tokens["send"], digest.hexdigest())

    async def body() -> AsyncIterator[bytes]:
        for _ in range(mib):
            yield block

    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample_peak(server, stop))
    cpu_before = server.cpu_s()
    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {tokens['send']}", "Content-Type": "application/octet-stream"}
    async with session.post(f"{url}{BASE}/{transfer_id}/upload", data=body(), headers=headers) as r:
        r.raise_for_status()
    up_s = time.perf_counter() - started
    up_cpu = server.cpu_s() - cpu_before
    cpu_before = server.cpu_s()
    started = time.perf_counter()
    received = 0
    async with session.get(
        f"{url}{BASE}/{transfer_id}/download", headers={"Authorization": f"Bearer {tokens['read']}"}
    ) as r:
        r.raise_for_status()
        async for chunk in r.content.iter_chunked(MIB):
            received += len(chunk)
    down_s = time.perf_counter() - started
    down_cpu = server.cpu_s() - cpu_before
    stop.set()
    await sampler
    assert received == mib * MIB, received
    print(f"file: {mib} MiB")
    print(f"upload: {up_s:.2f} s, {mib / up_s:.0f} MiB/s (streamed, MD5 and size checked, published)")
    print(f"  broker CPU {up_cpu:.2f} s ({up_cpu / mib * 1000:.1f} ms per MiB)")
    print(f"download: {down_s:.2f} s, {mib / down_s:.0f} MiB/s")
    print(f"  broker CPU {down_cpu:.2f} s ({down_cpu / mib * 1000:.1f} ms per MiB)")
    sampled = max(server.rss_samples_kib) / 1024
    own, with_workers = server.own_peak_rss_kib() / 1024, server.peak_rss_kib() / 1024
    print(f"broker RSS: peak {own:.0f} MiB (VmHWM; {with_workers:.0f} with its check workers, which file")
    print(f"  transfers do not use), sampled max {sampled:.0f} MiB with the workers")


async def _small(
    session: aiohttp.ClientSession,
    url: str,
    tokens: dict[str, str],
    server: ServerProcess,
    count: int,
    concurrency: int,
    multipart: bool,
) -> None:
    data = os.urandom(2048)
    checksum = hashlib.md5(data, usedforsecurity=False).hexdigest()
    send = {"Authorization": f"Bearer {tokens['send']}"}
    read = {"Authorization": f"Bearer {tokens['read']}"}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    latencies: list[float] = []
    steps = {"initialize": 0.0, "upload": 0.0, "download": 0.0, "confirm": 0.0}

    async def worker() -> None:
        while not queue.empty():
            queue.get_nowait()
            began = time.perf_counter()
            if multipart:
                transfer_id = await _initialize_and_upload(session, url, tokens["send"], data, checksum)
                t1 = t2 = time.perf_counter()
            else:
                transfer_id = await _initialize(session, url, tokens["send"], checksum)
                t1 = time.perf_counter()
                headers = {**send, "Content-Type": "application/octet-stream"}
                async with session.post(f"{url}{BASE}/{transfer_id}/upload", data=data, headers=headers) as r:
                    r.raise_for_status()
                t2 = time.perf_counter()
            async with session.get(f"{url}{BASE}/{transfer_id}/download", headers=read) as r:
                r.raise_for_status()
                assert await r.read() == data
            t3 = time.perf_counter()
            async with session.post(f"{url}{BASE}/{transfer_id}/confirmdownload", headers=read) as r:
                r.raise_for_status()
            t4 = time.perf_counter()
            for name, spent in zip(steps, (t1 - began, t2 - t1, t3 - t2, t4 - t3), strict=True):
                steps[name] += spent
            latencies.append(t4 - began)

    window = CpuWindow([server])
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    shares = window.shares()
    cpu, own = shares.server_s, shares.loadgen_s
    latencies.sort()
    requests = 3 if multipart else 4
    print(f"small transfers: {count} of 2 KiB, {concurrency} at a time, in {elapsed:.1f} s")
    print(
        f"end to end ({'multipart initialize+upload' if multipart else 'initialize+upload'}, download+confirm): "
        f"{count / elapsed:.0f} transfers/s"
    )
    print(f"broker CPU {cpu:.1f} s, {cpu / count * 1000:.1f} ms per transfer ({requests} requests)")
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    print(f"latency p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    shown = dict(steps)
    if multipart:  # one request: its time is in "initialize"
        shown = {"initialize+upload": steps["initialize"], "download": steps["download"], "confirm": steps["confirm"]}
    print("mean per step: " + ", ".join(f"{k} {v / count * 1000:.1f} ms" for k, v in shown.items()))
    postgres_ms, rabbitmq_ms = (shares.services_s[c] / count * 1000 for c in ("postgres", "beam.smp"))
    others_ms = postgres_ms + rabbitmq_ms + own / count * 1000
    cores = os.cpu_count() or 1
    bound = physical_bound(cores, others_ms)
    print(
        f"CPU per transfer: PostgreSQL {postgres_ms:.2f} ms, RabbitMQ {rabbitmq_ms:.2f} ms, "
        f"load generator {own / count * 1000:.2f} ms; machine busy {shares.machine_busy:.0%}"
    )
    print(
        f"physical bound {bound:,.0f} transfers/s ({cores} cores ÷ {others_ms:.2f} ms of PostgreSQL, RabbitMQ and "
        f"the load generator per transfer); the broker reaches {count / elapsed / bound:.0%} of it"
    )


async def _main(args: argparse.Namespace) -> int:
    run = new_run_id()
    with tempfile.TemporaryDirectory(prefix="dsve-bench-files-") as tmp:
        directory = Path(tmp)
        deployment = new_deployment(directory / "deployment")
        prefix = f"dsvebench{run}"
        async with postgres_database(POSTGRES_URL, run) as database_url:
            port = free_port()
            env = {
                "DSVE_DATA_DIR": str(directory / "data"),
                "DSVE_DATABASE_URL": database_url,
                "DSVE_AMQP_URL": AMQP_URL,
                "DSVE_AMQP_PREFIX": prefix,
                "DSVE_TRUST_CA_FILES": str(deployment.pki.ca_cert_path),
                "DSVE_PARTICIPANTS_FILE": str(deployment.participants_file),
                "DSVE_SERVICE_OWNERS": MEGLER,
                "DSVE_MAX_FILE_TRANSFER_SIZE": str(4 * 1024 * MIB),
                "DSVE_TOKEN_LIFETIME": "7200",
                "DSVE_LOG_LEVEL": "WARNING",
                "DSVE_PORT": str(port),
            }
            if args.file_store_dir:
                env["DSVE_FILE_STORE_DIR"] = args.file_store_dir
            server = start_server("broker", [DSVE, "serve"], env, port, directory / "broker.log")
            try:
                await wait_ready([server])
                timeout = aiohttp.ClientTimeout(total=None)
                connector = aiohttp.TCPConnector(limit=max(64, args.concurrency * 2))
                async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
                    url = server.url
                    owner = await _token(session, url, deployment, MEGLER, "altinn:serviceowner")
                    settings = {
                        "maxFileTransferSize": 4 * 1024 * MIB,
                        "purgeFileTransferAfterAllRecipientsConfirmed": True,
                    }
                    async with session.put(
                        f"{url}/broker/api/v1/resource/{RESOURCE}",
                        json=settings,
                        headers={"Authorization": f"Bearer {owner}"},
                    ) as r:
                        r.raise_for_status()
                    tokens = {
                        "send": await _token(session, url, deployment, MEGLER, "altinn:broker.write"),
                        "read": await _token(session, url, deployment, BUYERS_BANK, "altinn:broker.read"),
                    }
                    print(f"load average before: {os.getloadavg()[0]:.1f}")
                    if args.mode == "large":
                        await _large(session, url, tokens, server, args.size_mib)
                    else:
                        await _small(session, url, tokens, server, args.transfers, args.concurrency, args.multipart)
                    print(f"load average after: {os.getloadavg()[0]:.1f}")
            finally:
                server.stop()
                await delete_topology(AMQP_URL, prefix)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.file_transfers", description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("large", "small"))
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--transfers", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--multipart",
        action="store_true",
        help="small: initialize and upload in one multipart request (Altinn's POST filetransfer/upload)",
    )
    parser.add_argument("--file-store-dir", help="where the broker keeps the bytes (default: a temporary directory)")
    return asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
