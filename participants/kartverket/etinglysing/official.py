"""The registration step of a sale in the official DSVE profile: the megler sends the deed and the buyers'
mortgage to Kartverket on ``kv_etinglysing``, Kartverket answers, and the megler keeps the final
``forsendelsesstatus``, which goes to the buyers' bank with ``GjennomfoertEtinglysing`` as the specification
prescribes (a ``forsendelsesstatus_*.xml`` file beside the message)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from lxml import etree

from participants.cases import SaleCase
from participants.kartverket.etinglysing.altinn import OPERATION, RESOURCE, AltinnReceiver
from participants.kartverket.etinglysing.container import pack, unpack
from participants.kartverket.etinglysing.sale import sale_forsendelse
from participants.kartverket.etinglysing.schema import NAMESPACE
from participants.sdk.file_transfer_client import FileTransferClient


class NotRegistered(RuntimeError):
    """Kartverket's final answer was no TINGLYST (or none came)."""


@dataclass
class KartverketRegistration:
    """Kartverket's side (its receiver) and the megler's client on kv_etinglysing."""

    kartverket: AltinnReceiver
    megler: FileTransferClient
    megler_orgnr: str

    async def register(self, sale: SaleCase, reference: str, settle: Callable[[], Awaitable[None]]) -> bytes:
        """Send the sale's forsendelse and wait for its final status; the status as Kartverket sent it."""
        forsendelse = sale_forsendelse(sale, reference, self.kartverket.service.schema)
        return await submit(self.megler, self.megler_orgnr, self.kartverket, forsendelse, reference, settle)


async def submit(
    client: FileTransferClient,
    sender_orgnr: str,
    kartverket: AltinnReceiver,
    forsendelse: bytes,
    reference: str,
    settle: Callable[[], Awaitable[None]],
) -> bytes:
    """Send one forsendelse for registration (``sendTilTinglysing``) as ``sender_orgnr``, let Kartverket's
    receiver answer, and return the final status; NotRegistered unless it is TINGLYST."""
    await client.initialize_and_upload(
        pack(f"forsendelse_{reference}.xml", forsendelse),
        file_name="forsendelse.zip",
        resource_id=RESOURCE,
        sender=sender_orgnr,
        recipients=[kartverket.orgnr],
        senders_reference=reference,
        property_list={OPERATION: "sendTilTinglysing"},
    )
    await settle()
    await kartverket.poll_once()
    await settle()
    final: bytes | None = None
    for transfer_id in await client.search(RESOURCE, status="Published", role="Recipient"):
        status = unpack(await client.download(transfer_id))
        await client.confirm_download(transfer_id)
        if etree.fromstring(status).findtext(f"{{{NAMESPACE}}}saksstatus") == "AVSLUTTET":
            final = status
    if final is None or etree.fromstring(final).findtext(f"{{{NAMESPACE}}}behandlingsutfall") != "TINGLYST":
        raise NotRegistered(f"{reference}: Kartverket did not register it")
    return final
