"""Kartverket's side of Altinn's file transfer, as e-tinglysing uses it: a sender puts one ``forsendelse``
(or an ``innsendingId``) in a ZIP on the resource ``kv_etinglysing`` with the manifest property ``operation``
(``sendTilTinglysing``, ``valider`` or ``hentStatus``); Kartverket downloads it, answers each
``forsendelsesstatus`` as a transfer of its own back to the sender (a ZIP with one XML file, the sender's
reference copied, the innsendingId in the manifest), and confirms the download.

A file that cannot be read gets no answer file (Kartverket answers only what it could read); the sender sees
its transfer confirmed and nothing back, and the reason is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import aiohttp
from lxml import etree

from broker.xml.keys import SigningCredential
from participants.kartverket.etinglysing.container import pack
from participants.kartverket.etinglysing.schema import NAMESPACE, SchemaUnavailable, Unreadable
from participants.kartverket.etinglysing.service import ETinglysing, UnknownInnsending
from participants.kartverket.register import LandRegister
from participants.sdk.file_transfer_client import FileTransferClient
from participants.sdk.maskinporten import SCOPE_READ, SCOPE_WRITE
from participants.sdk.responses import raise_for_problem
from participants.sdk.tokens import JWT_BEARER_GRANT, build_grant_assertion

log = logging.getLogger(__name__)

RESOURCE = "kv_etinglysing"
OPERATION = "operation"
STATUS_FILE = "forsendelsesstatus.xml"
SCOPES = f"{SCOPE_WRITE} {SCOPE_READ}"


def _orgnr(party: str) -> str:
    return party.rsplit(":", 1)[-1]


def _innsending_id(status: bytes) -> str | None:
    """The innsendingId of a status the simulator itself has just encoded."""
    return etree.fromstring(status).findtext(f"{{{NAMESPACE}}}innsendingId")


class GrantTokens:
    """Access tokens for the file-transfer API from the broker's grant endpoint: a JWT bearer grant signed
    with the participant's enterprise key, asking for Altinn's broker scopes; renewed ahead of expiry."""

    def __init__(
        self, token_url: str, orgnr: str, credential: SigningCredential, audience: str = "dsve-broker"
    ) -> None:
        self.token_url, self.orgnr, self.credential, self.audience = token_url, orgnr, credential, audience
        self._token: tuple[str, float] | None = None

    def invalidate(self) -> None:
        self._token = None

    async def token(self, session: aiohttp.ClientSession) -> str:
        now = time.time()
        if self._token is not None and self._token[1] > now + 30:
            return self._token[0]
        assertion = build_grant_assertion(self.orgnr, self.credential, self.audience, scope=SCOPES)
        form = {"grant_type": JWT_BEARER_GRANT, "assertion": assertion}
        async with session.post(self.token_url, data=form, headers={"Accept": "application/json"}) as response:
            await raise_for_problem(response)
            body = await response.json()
        self._token = (str(body["access_token"]), now + float(body.get("expires_in") or 60))
        return self._token[0]


class AltinnReceiver:
    """Polls the resource for transfers to Kartverket and answers them through the same API."""

    def __init__(self, client: FileTransferClient, service: ETinglysing, orgnr: str, resource: str = RESOURCE) -> None:
        self.client = client
        self.service = service
        self.orgnr = orgnr
        self.resource = resource

    async def poll_once(self) -> int:
        """Handle every published transfer waiting for Kartverket; returns how many were handled."""
        waiting = await self.client.search(self.resource, status="Published", role="Recipient")
        for transfer_id in waiting:
            await self.handle(transfer_id)
        await self.deliver_pending()
        return len(waiting)

    async def deliver_pending(self) -> None:
        """Send the statuses decided since (a case officer's decision, a submission taken up again)."""
        for innsending_id, sender, status in await self.service.undelivered():
            await self.answer(sender, status, "sendTilTinglysing", str(innsending_id))
            await self.service.delivered(innsending_id)

    async def answer(self, sender: str, status: bytes, operation: str, reference: str) -> None:
        properties = {OPERATION: operation}
        innsending_id = _innsending_id(status)
        if innsending_id:
            properties["innsendingId"] = innsending_id
        await self.client.initialize_and_upload(
            pack(STATUS_FILE, status),
            file_name="forsendelsesstatus.zip",
            resource_id=self.resource,
            sender=self.orgnr,
            recipients=[sender],
            senders_reference=reference,
            property_list=properties,
        )

    async def handle(self, transfer_id: str) -> None:
        overview = await self.client.overview(transfer_id)
        sender = _orgnr(overview.sender)
        operation = overview.property_list.get(OPERATION, "")
        payload = await self.client.download(transfer_id)
        try:
            answers = await self.service.handle(operation, payload, sender=sender)
        except Unreadable as unreadable:
            log.warning("transfer %s from %s not answered: %s", transfer_id, sender, unreadable)
            answers = []
        except UnknownInnsending:
            log.warning("transfer %s from %s asks for an innsendingId it does not have", transfer_id, sender)
            answers = []
        for status in answers:
            await self.answer(sender, status, operation, overview.senders_reference or transfer_id)
        await self.client.confirm_download(transfer_id)

    async def run(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        """Poll until ``stop`` is set; a failed round is logged and tried again after the interval."""
        await self.service.resume()
        while not stop.is_set():
            try:
                await self.poll_once()
            except Exception:  # the loop must outlive one broken round (the broker restarting, say)
                log.exception("polling %s failed", self.resource)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)


async def start_receiver(
    broker_url: str, orgnr: str, credential: SigningCredential, register: LandRegister, stop: asyncio.Event
) -> asyncio.Task[None] | None:
    """The e-tinglysing receiver of a Kartverket simulator process, polling until ``stop``; None (and a log
    line) when the etinglysing schema set is not configured."""
    try:
        service = ETinglysing(register)
    except SchemaUnavailable as missing:
        log.info("e-tinglysing over Altinn is off: %s", missing)
        return None
    await service.prepare()

    async def run() -> None:
        async with FileTransferClient(broker_url, GrantTokens(f"{broker_url}/token", orgnr, credential)) as client:
            await AltinnReceiver(client, service, orgnr).run(stop)

    return asyncio.create_task(run())
