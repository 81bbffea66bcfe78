"""A participant system in the official profile: it finds the transfers sent to it on the Altinn-compatible
API, reads each ZIP, answers through its responder, and confirms the download, as a real bank or megler
system does against Altinn (search by resource and role, download, confirm).

Every transfer is handled once: the ids handled are remembered, and a transfer this party has already
confirmed is skipped, so a restart does not answer twice.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from participants.official.responders import Reply
from participants.sdk.file_transfer_client import FileTransferClient
from participants.sdk.file_transfer_models import FileTransferOverview

log = logging.getLogger(__name__)

MAX_ENTRIES = 20
MAX_ENTRY_BYTES = 16 * 1024 * 1024
CONFIRMED = "DownloadConfirmed"

Handler = Callable[[FileTransferOverview, dict[str, bytes]], Awaitable[Reply | None]]


def read_zip(data: bytes) -> dict[str, bytes]:
    """The files of a received ZIP by base name (bounded: a simulator reads what the broker has checked)."""
    files: dict[str, bytes] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        if len(infos) > MAX_ENTRIES or any(info.file_size > MAX_ENTRY_BYTES for info in infos):
            raise ValueError("the ZIP is larger than a DSVE message")
        for info in infos:
            files[info.filename.rpartition("/")[2]] = archive.read(info)
    return files


def make_zip(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _orgnr(party: str) -> str:
    return party.rpartition(":")[2]


@dataclass
class OfficialInbox:
    """Polls one resource for transfers to ``orgnr``; ``handlers`` answer by ``messageType``."""

    client: FileTransferClient
    orgnr: str
    resource: str
    handlers: dict[str, Handler]
    handled: set[str] = field(default_factory=set)
    sent: list[tuple[str, Reply]] = field(default_factory=list)

    async def send(self, reply: Reply, recipients: list[str], file_name: str = "payload.zip") -> str:
        transfer_id = await self.client.initialize_and_upload(
            make_zip(reply.files),
            file_name=file_name,
            resource_id=self.resource,
            sender=self.orgnr,
            recipients=recipients,
            property_list=reply.properties,
        )
        self.sent.append((transfer_id, reply))
        return transfer_id

    async def poll_once(self) -> int:
        """Handle every new published transfer to this party; the number handled."""
        count = 0
        for transfer_id in await self.client.search(self.resource, status="Published", role="Recipient"):
            if transfer_id in self.handled:
                continue
            overview = await self.client.overview(transfer_id)
            mine = [r for r in overview.recipients if _orgnr(r.recipient) == self.orgnr]
            if not mine or mine[0].status == CONFIRMED:
                self.handled.add(transfer_id)
                continue
            files = read_zip(await self.client.download(transfer_id))
            handler = self.handlers.get(overview.property_list.get("messageType", ""))
            reply = await handler(overview, files) if handler is not None else None
            if reply is not None:
                await self.send(reply, [_orgnr(overview.sender)])
            await self.client.confirm_download(transfer_id)
            self.handled.add(transfer_id)
            count += 1
        return count
