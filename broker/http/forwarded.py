"""Forwarded headers, honoured only from the proxies the operator names.

Behind a TLS-terminating proxy the broker sees plain HTTP from the proxy's address. The proxy says what
the client used in ``X-Forwarded-Proto``, ``X-Forwarded-For`` and ``X-Forwarded-Host``; any client can
send the same headers, so they count only when the connection comes from an address in
``DSVE_TRUSTED_PROXIES``. Then the request is seen with the client's scheme, host and address: the
console's cookies get ``Secure``, its CSRF check compares ``Origin`` with ``https://…``, and sign-in
backoff counts the client's address instead of the proxy's. From anyone else the headers are ignored.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or networks (``10.0.0.5``, ``10.0.0.0/8``, ``::1``); raises ValueError naming a bad one."""
    networks: list[Network] = []
    for entry in entries:
        text = entry.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"{text!r} is not an IP address or network") from None
    return tuple(networks)


def _trusted(address: str | None, networks: Sequence[Network]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def _last(value: str) -> str:
    """The value the nearest proxy added: the last of a comma-separated list."""
    return value.rsplit(",", 1)[-1].strip()


def _client_address(header: str, networks: Sequence[Network]) -> str | None:
    """The rightmost address in X-Forwarded-For that is not one of the trusted proxies."""
    hops = [hop.strip() for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return None  # a hop that is no address: trust nothing further left
        if not _trusted(hop, networks):
            return hop
    return hops[0] if hops else None


def forwarded_middleware(networks: Sequence[Network]) -> Middleware:
    """Sees a request from a trusted proxy with the scheme, host and address its headers name."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not networks or not _trusted(request.remote, networks):
            return await handler(request)
        proto = _last(request.headers.get("X-Forwarded-Proto", "")).lower()
        host = _last(request.headers.get("X-Forwarded-Host", ""))
        client = _client_address(request.headers.get("X-Forwarded-For", ""), networks)
        seen = request.clone(
            scheme=proto if proto in ("http", "https") else request.scheme,
            host=host if host and _HOST.fullmatch(host) else request.host,
            remote=client or str(request.remote),  # a trusted peer has an address
        )
        return await handler(seen)

    return middleware
