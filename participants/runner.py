"""Connects one participant system to the broker: messages in (AMQP push or HTTP polling), replies out.

A simulator is a function from a received message's bytes to the messages it sends in answer. The runner
gives it the recipient's side of the broker contract: deliveries from the participant's queue with manual ack
and dedup by message id (or the inbox over HTTP where no AMQP is configured), each reply submitted over HTTP,
and the broker told the message was handled (confirm) only after the replies were accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from broker.domain.errors import Refusal
from broker.routing.transport import Delivery, Transport
from participants.sdk.client import BrokerClient
from participants.sdk.consumer import InboxConsumer, PermanentFailure
from participants.sdk.dedup import DedupStore
from participants.sdk.errors import BrokerError
from participants.sdk.models import MessageInfo
from participants.sdk.polling import InboxPoller

log = logging.getLogger(__name__)

SystemHandler = Callable[[bytes], Awaitable[list[bytes]]]


@dataclass
class RunnerStats:
    handled: int = 0
    sent: int = 0
    refused: int = 0


class ParticipantRunner:
    """One participant's loop. ``transport`` set: consume its queue; unset: poll its inbox over HTTP."""

    def __init__(
        self,
        client: BrokerClient,
        system: SystemHandler,
        transport: Transport | None = None,
        dedup_store: DedupStore | None = None,
        poll_interval: float = 0.5,
    ) -> None:
        self.client = client
        self.system = system
        self.transport = transport
        self.dedup_store = dedup_store
        self.poll_interval = poll_interval
        self.stats = RunnerStats()
        self._consumer: InboxConsumer | None = None
        self._poller_task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    @property
    def orgnr(self) -> str:
        return self.client.orgnr

    async def start(self) -> None:
        if self.transport is not None:
            if self.dedup_store is None:
                raise ValueError("an AMQP consumer needs a dedup store of its own")
            await self.transport.ensure_participant(self.orgnr)
            self._consumer = InboxConsumer(
                self.transport, self.orgnr, self._on_delivery, self.dedup_store, on_handled=self._confirm
            )
            await self._consumer.start()
        else:
            poller = InboxPoller(self.client, self._on_polled)
            self._poller_task = asyncio.create_task(poller.run(self.poll_interval, self._stop))

    async def stop(self) -> None:
        self._stop.set()
        if self._consumer is not None:
            await self._consumer.stop()
        if self.dedup_store is not None:
            await self.dedup_store.close()
        if self._poller_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller_task

    async def _handle(self, body: bytes, message_id: str) -> None:
        try:
            replies = await self.system(body)
        except Refusal as exc:
            # The message is unreadable or its signature fails here: retrying cannot help.
            self.stats.refused += 1
            raise PermanentFailure(str(exc)) from exc
        for reply in replies:
            await self.client.send(reply)
            self.stats.sent += 1
        self.stats.handled += 1
        log.debug("%s handled %s with %d replies", self.orgnr, message_id, len(replies))

    async def _on_delivery(self, delivery: Delivery) -> None:
        await self._handle(delivery.body, delivery.message_id)

    async def _on_polled(self, info: MessageInfo, xml: bytes) -> None:
        await self._handle(xml, info.id)

    async def _confirm(self, message_id: str) -> None:
        try:
            await self.client.confirm(message_id)
        except BrokerError as exc:
            log.warning("%s could not confirm %s: %s", self.orgnr, message_id, exc)
