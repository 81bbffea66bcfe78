"""A participant's submission to Kartverket in a sale of the official DSVE profile: one ``forsendelse`` on
``kv_etinglysing``, Kartverket's receiver answers, and the sender keeps the final ``forsendelsesstatus``. The
megler sends the deed and the buyers' mortgage this way and passes the status to the buyers' bank with
``GjennomfoertEtinglysing`` (a ``forsendelsesstatus_*.xml`` file beside the message); the sellers' bank sends
its sletting once its loan is paid (``participants/official/sale.py``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from lxml import etree

from participants.kartverket.etinglysing.altinn import OPERATION, RESOURCE, AltinnReceiver
from participants.kartverket.etinglysing.container import pack, unpack
from participants.kartverket.etinglysing.schema import NAMESPACE
from participants.sdk.file_transfer_client import FileTransferClient


class NotRegistered(RuntimeError):
    """Kartverket's final answer was no TINGLYST (or none came)."""


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
