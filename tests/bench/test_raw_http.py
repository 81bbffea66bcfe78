"""The load generator's HTTP client against a real aiohttp server: the answers it must read right."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestServer

from bench.raw_http import RawHttpClient, RawHttpError


async def _echo(request: web.Request) -> web.StreamResponse:
    body = await request.read()
    mode = request.query.get("mode", "")
    if mode == "chunked":
        response = web.StreamResponse(status=201)
        response.enable_chunked_encoding()
        await response.prepare(request)
        for part in (b"<got ", str(len(body)).encode(), b"/>"):
            await response.write(part)
        await response.write_eof()
        return response
    if mode == "close":
        return web.Response(status=409, body=b"bye", headers={"Connection": "close"})
    if mode == "cut":
        assert request.transport is not None
        request.transport.close()
        await asyncio.sleep(0.05)
    return web.Response(status=201, body=b"<got " + request.headers["X-Sender"].encode() + b"/>")


async def test_reads_length_and_chunked_answers_and_reconnects_after_a_close() -> None:
    app = web.Application()
    app.router.add_post("/m", _echo)
    async with TestServer(app) as server:
        base = f"http://{server.host}:{server.port}/m"
        client = RawHttpClient(base)
        try:
            for _ in range(3):  # the same kept connection
                assert await client.post(client.render(b"<a/>", {"X-Sender": "bank"})) == (201, b"<got bank/>")
            chunked = RawHttpClient(base + "?mode=chunked")
            assert await chunked.post(chunked.render(b"12345", {})) == (201, b"<got 5/>")
            await chunked.close()
            closing = RawHttpClient(base + "?mode=close")
            assert await closing.post(closing.render(b"", {})) == (409, b"bye")
            assert await closing.post(closing.render(b"", {})) == (409, b"bye")  # opened again
            await closing.close()
            cut = RawHttpClient(base + "?mode=cut")
            try:
                await cut.post(cut.render(b"<a/>", {"X-Sender": "bank"}))
            except RawHttpError:
                pass
            else:
                raise AssertionError("a connection cut before the answer must raise RawHttpError")
        finally:
            await client.close()


async def test_a_connection_the_server_closed_while_idle_is_opened_again() -> None:
    app = web.Application()
    app.router.add_post("/m", _echo)
    runner = web.AppRunner(app, keepalive_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    client = RawHttpClient(f"http://{host}:{port}/m")
    try:
        assert await client.post(client.render(b"<a/>", {"X-Sender": "bank"})) == (201, b"<got bank/>")
        await asyncio.sleep(0.5)  # the server's keep-alive ends: it closes the idle connection
        # written into the closed connection, the request would fail (RawHttpError) and count as an error
        assert await client.post(client.render(b"<a/>", {"X-Sender": "megler"})) == (201, b"<got megler/>")
    finally:
        await client.close()
        await runner.cleanup()
