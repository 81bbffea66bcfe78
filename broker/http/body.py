"""Reading a request body under a size limit, without ever holding more than the limit in memory.

The declared Content-Length is checked first; then the stream is read in chunks and refused as soon as
one byte past the limit arrives, so a client that lies about (or omits) the length still cannot make the
broker buffer more than ``limit + chunk`` bytes.
"""

from __future__ import annotations

from aiohttp import web

from broker.domain.errors import Error, Refusal

CHUNK_BYTES = 64 * 1024
XML_MEDIA_TYPES = frozenset({"application/xml", "text/xml"})


def require_xml(request: web.Request) -> None:
    """415 unless the body is declared as XML (``application/xml``, ``text/xml`` or ``+xml``)."""
    media_type = request.content_type.lower()
    if media_type not in XML_MEDIA_TYPES and not (
        media_type.startswith("application/") and media_type.endswith("+xml")
    ):
        raise Refusal(Error.NOT_XML, f"the body must be application/xml, not {media_type or 'undeclared'}")


def _too_large(limit: int) -> Refusal:
    return Refusal(Error.TOO_LARGE, f"the body exceeds the limit of {limit} bytes")


async def read_limited(request: web.Request, limit: int) -> bytes:
    """The whole body, or a TOO_LARGE refusal as soon as it is known to exceed ``limit`` bytes."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise _too_large(limit)
    body = bytearray()
    while True:
        chunk = await request.content.read(CHUNK_BYTES)
        if not chunk:
            break
        body += chunk
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)
