"""Receiving over HTTP alone, for deployments without AMQP: list → download → handle → confirm.

The broker promises at-least-once delivery, and a poll may see a message again when a confirm was lost,
so handled message ids are remembered (bounded) and a repeat is confirmed without running the handler.
A handler that keeps failing is given up after a few attempts so one bad message cannot stall the box.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

import aiohttp

from participants.sdk.errors import BrokerError
from participants.sdk.models import MessageInfo

log = logging.getLogger(__name__)

MessageHandler = Callable[[MessageInfo, bytes], Awaitable[None]]
UNCONFIRMED_STATUSES = ("accepted", "published", "downloaded")


class HandledIds:
    """A bounded memory of handled ids: old ones fall out once the broker has long since confirmed them."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._ids

    def add(self, message_id: str) -> None:
        self._ids[message_id] = None
        self._ids.move_to_end(message_id)
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)


class Inbox(Protocol):
    """What the poller needs of a broker client (``BrokerClient`` is one)."""

    def inbox(self, status: str | None = None) -> AsyncIterator[MessageInfo]: ...

    async def download(self, message_id: str) -> bytes: ...

    async def confirm(self, message_id: str) -> MessageInfo | None: ...


class InboxPoller:
    def __init__(
        self,
        client: Inbox,
        handler: MessageHandler,
        max_attempts: int = 5,
        handled: HandledIds | None = None,
    ) -> None:
        self.client = client
        self.handler = handler
        self.max_attempts = max_attempts
        self.handled = handled or HandledIds()
        self._failures: dict[str, int] = {}

    async def poll_once(self) -> int:
        """Handle everything waiting now; returns how many messages the handler ran for."""
        pending: dict[str, MessageInfo] = {}
        for status in UNCONFIRMED_STATUSES:
            async for info in self.client.inbox(status=status):
                pending.setdefault(info.id, info)
        ran = 0
        for info in sorted(pending.values(), key=_arrival):
            if self._failures.get(info.id, 0) >= self.max_attempts:
                continue
            if info.id in self.handled:
                await self.client.confirm(info.id)
                continue
            xml = await self.client.download(info.id)
            try:
                await self.handler(info, xml)
            except Exception:
                count = self._failures.get(info.id, 0) + 1
                self._failures[info.id] = count
                log.exception(
                    "handling %s %s failed (attempt %d of %d)", info.message_type, info.id, count, self.max_attempts
                )
                continue
            ran += 1
            self.handled.add(info.id)
            self._failures.pop(info.id, None)
            await self.client.confirm(info.id)
        return ran

    async def run(self, interval: float = 2.0, stop: asyncio.Event | None = None) -> None:
        """Poll until ``stop`` is set; a broker outage is logged and retried, never fatal."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await self.poll_once()
            except (OSError, TimeoutError, aiohttp.ClientError, BrokerError) as exc:
                log.warning("polling the inbox failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)


def _arrival(info: MessageInfo) -> tuple[str, str]:
    return (info.received.isoformat() if info.received else "", info.id)
