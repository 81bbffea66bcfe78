"""A keep-alive HTTP/1.1 client that sends pre-rendered POSTs: the load generator's side of the benchmark.

The load generator runs on the same two cores as the servers it measures, so every microsecond it spends
is taken from them. aiohttp's client spent about 0.1 ms of CPU per request there (session, request and
response objects, header multidicts, timers); this client writes one buffer per request and reads the
answer's status line, headers and body, nothing more. It speaks only what the servers under test answer:
``Content-Length`` or chunked bodies, keep-alive unless the server says ``Connection: close``; a connection
the server closed while it was idle (its keep-alive timeout) is opened again for the next request.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit


class RawHttpError(Exception):
    """The connection failed or the answer was not HTTP/1.1 as expected."""


class RawHttpClient:
    """One connection, one request at a time (a closed-loop client is exactly that)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    def render(self, body: bytes, headers: dict[str, str]) -> bytes:
        """The whole request, rendered once per message before anything is timed."""
        lines = [f"POST {self.path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    async def post(self, request: bytes) -> tuple[int, bytes]:
        """Send a rendered request; answer the status and the body. A broken connection is opened again
        for the next request, not retried: the caller counts the error."""
        if self._writer is None or self._writer.is_closing() or (self._reader is not None and self._reader.at_eof()):
            # Never opened, or closed by the server while idle (its keep-alive timeout): a new connection, as
            # an HTTP client's pool does, rather than a request written into one already closed.
            await self.close()
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._reader, self._writer
        assert reader is not None
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status, length, chunked, close = _parse_head(head)
            body = await (_read_chunked(reader) if chunked else reader.readexactly(length))
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            await self.close()
            raise RawHttpError(str(exc) or type(exc).__name__) from exc
        if close:
            await self.close()
        return status, body

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def _parse_head(head: bytes) -> tuple[int, int, bool, bool]:
    lines = head.split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    if not version.startswith(b"HTTP/1."):
        raise ValueError(f"not an HTTP/1.x answer: {lines[0][:40]!r}")
    status = int(rest[:3])
    length, chunked, close = 0, False, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            close = value.strip().lower() == b"close"
    return status, length, chunked, close


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers are sent by the servers under test
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
