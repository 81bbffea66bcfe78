"""The load generator: closed-loop clients (or an open loop at a rate) submitting pre-signed messages over
keep-alive HTTP/1.1 connections written by hand (``raw_http``), light on purpose: it shares the cores with the
servers it measures."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence

from bench.common import REQUEST_TIMEOUT_S, SignedMessage, Tally
from bench.raw_http import RawHttpClient, RawHttpError


async def submit_load(
    tokens: dict[str, str],
    messages: Sequence[SignedMessage],
    tally: Tally,
    *,
    clients: Sequence[RawHttpClient],
    duration_s: float,
    rate: float | None = None,
) -> float:
    """Submit until the messages or the time run out; ``rate`` makes it open-loop at that many per second.

    Returns the time the last submission started. ``clients`` (``kept_clients``) are left open, so a
    warm-up's connections serve the timed part.
    """
    headers = {o: {"Authorization": f"Bearer {t}", "Content-Type": "application/xml"} for o, t in tokens.items()}
    cursor = iter(range(len(messages)))
    start = time.time()
    deadline = start + duration_s
    last_start = start

    async def one(client: RawHttpClient, message: SignedMessage) -> None:
        nonlocal last_start
        request = client.render(message.body, headers[message.sender])
        sent = time.time()
        last_start = sent
        tally.sent_at[message.reference] = sent
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                status, _ = await client.post(request)
        except (RawHttpError, TimeoutError):
            tally.errors += 1
            return
        if status in (200, 201):
            tally.answered_at[message.reference] = time.time()
        else:
            tally.refused[status] = tally.refused.get(status, 0) + 1

    if rate is None:

        async def closed_loop(client: RawHttpClient) -> None:
            for index in cursor:
                if time.time() >= deadline:
                    return
                await one(client, messages[index])

        await asyncio.gather(*(closed_loop(client) for client in clients))
    else:
        # Open loop: each message is due at its time; a free connection of its server (the servers in turn)
        # takes it.
        by_server: dict[tuple[str, int], asyncio.Queue[RawHttpClient]] = {}
        for client in clients:
            by_server.setdefault((client.host, client.port), asyncio.Queue()).put_nowait(client)
        idle = list(by_server.values())
        pending: set[asyncio.Task[None]] = set()

        async def paced(free: asyncio.Queue[RawHttpClient], message: SignedMessage) -> None:
            client = await free.get()
            try:
                await one(client, message)
            finally:
                free.put_nowait(client)

        for index in cursor:
            due = start + index / rate
            if due >= deadline:
                break
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(paced(idle[index % len(idle)], messages[index]))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.gather(*pending)
    return last_start


@contextlib.asynccontextmanager
async def kept_clients(urls: Sequence[str], path: str, concurrency: int) -> AsyncIterator[list[RawHttpClient]]:
    """``concurrency`` clients spread over ``urls`` round robin, one keep-alive connection each (``raw_http``:
    the load generator shares the cores with the servers), each opened by its first request and kept until
    the block ends. A warm-up that opens them lets the timed part reuse them, as participant systems keep
    their connections: fresh clients made the timed part accept 128 connections (at 20 msg/s a third of its
    requests, 0.36 ms of the server's event loop each) while the servers closed the warm-up's."""
    clients = [RawHttpClient(urls[number % len(urls)] + path) for number in range(concurrency)]
    try:
        yield clients
    finally:
        for client in clients:
            await client.close()
