"""Which addresses a webhook may be delivered to: https to the public internet, and nothing inside.

A subscriber names the URL, so the broker would otherwise post to any host it can reach, its own network
included. Endpoints are checked when a subscription is made (https, no credentials in the URL, no literal
private address), and again on every connection: the resolver hands aiohttp only public addresses, so a
name that resolves to a private one later (DNS rebinding) is refused too. For tests and receivers on the
same machine a setting allows plain http to the loopback address, and nothing else.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

MAX_ENDPOINT_LENGTH = 2000
_LOOPBACK_NAMES = frozenset({"127.0.0.1", "::1", "localhost"})


class EndpointRefused(ValueError):
    """The URL may not receive webhooks; the message says why."""


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_endpoint(url: str, *, allow_loopback: bool) -> str:
    """The endpoint as given, if webhooks may be sent there; ``EndpointRefused`` otherwise."""
    if len(url) > MAX_ENDPOINT_LENGTH or not url.isascii() or any(c.isspace() for c in url):
        raise EndpointRefused(f"the endpoint must be a URL of at most {MAX_ENDPOINT_LENGTH} ASCII characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise EndpointRefused(f"the endpoint is not a valid URL: {exc}") from None
    host = (parts.hostname or "").lower()
    if not host:
        raise EndpointRefused("the endpoint must name a host")
    if parts.username is not None or parts.password is not None or parts.fragment:
        raise EndpointRefused("the endpoint may carry no credentials and no fragment")
    if port == 0:
        raise EndpointRefused("the endpoint's port must not be 0")
    loopback = host in _LOOPBACK_NAMES
    if parts.scheme == "http" and loopback and allow_loopback:
        return url
    if parts.scheme != "https":
        raise EndpointRefused("the endpoint must use https")
    address = _literal_address(host)
    if (loopback and not allow_loopback) or (address is not None and not _permitted(address, allow_loopback)):
        raise EndpointRefused("the endpoint must be on the public internet")
    return url


def _permitted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_loopback: bool) -> bool:
    return address.is_global or (allow_loopback and address.is_loopback)


def _resolved_permitted(host: str, allow_loopback: bool) -> bool:
    address = _literal_address(host.split("%", 1)[0])
    return address is not None and _permitted(address, allow_loopback)


class PublicOnlyResolver(AbstractResolver):
    """Resolves like aiohttp's default resolver, then drops every address that is not public."""

    def __init__(self, *, allow_loopback: bool) -> None:
        self._inner = DefaultResolver()
        self._allow_loopback = allow_loopback

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        kept = [r for r in found if _resolved_permitted(r["host"], self._allow_loopback)]
        if not kept:
            raise OSError(f"{host} resolves to no public address")
        return kept

    async def close(self) -> None:
        await self._inner.close()
