"""Streaming request and response bodies of file transfers in chunks of about a mebibyte.

aiohttp hands a body over in pieces of up to its read buffer; they are joined into chunks of up to
``CHUNK_BYTES`` before each goes to the file store (fewer disk writes and thread hand-offs), so at most one
chunk of a file is in memory per request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable

from aiohttp import web

from broker.domain.errors import Error, Refusal

CHUNK_BYTES = 1024 * 1024


async def chunks_of(
    read: Callable[[int], Awaitable[bytes]], idle_timeout_s: float, chunk_bytes: int = CHUNK_BYTES
) -> AsyncIterator[bytes]:
    """Chunks from ``read(n)`` (a request's ``content.read``, a form part's ``read_chunk``) until it answers b"".

    A body may take as long as it needs while bytes keep coming; when none arrive for ``idle_timeout_s`` the
    read is cut off with a 408 (a stalled or trickling client holds no handler indefinitely)."""
    pieces: list[bytes] = []
    held = 0
    while True:
        try:
            async with asyncio.timeout(idle_timeout_s if idle_timeout_s > 0 else None):
                piece = await read(chunk_bytes - held)
        except TimeoutError as exc:
            detail = f"no bytes of the body arrived for {idle_timeout_s:g} seconds"
            raise Refusal(Error.BODY_TIMEOUT, detail) from exc
        if not piece:
            break
        pieces.append(piece)
        held += len(piece)
        if held >= chunk_bytes:
            yield pieces[0] if len(pieces) == 1 else b"".join(pieces)  # one copy of each byte, not two
            pieces.clear()
            held = 0
    if pieces:
        yield b"".join(pieces)


async def send_chunks(response: web.StreamResponse, request: web.Request, chunks: AsyncGenerator[bytes, None]) -> None:
    async with contextlib.aclosing(chunks) as reading:  # the file is closed at once if the client goes away
        await response.prepare(request)
        async for chunk in reading:
            await response.write(chunk)
        await response.write_eof()
