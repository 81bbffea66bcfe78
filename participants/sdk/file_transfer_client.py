"""A client for the Altinn 3 Broker file-transfer API, written from Altinn's public contract.

It speaks to this broker and to Altinn alike (base URL and tokens differ): initialize, upload (streamed
from a file, or bytes), initialize and upload in one multipart request, overview, details, search, download
(whole, streamed to a file, or a byte range), confirm, and resumable upload over TUS 1.0 for large files
(create, HEAD for the offset, PATCH in chunks, resumed from the server's offset after a failure, terminate).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Protocol

import aiohttp

from participants.sdk.file_transfer_models import FileTransferOverview
from participants.sdk.responses import raise_for_problem

API = "/broker/api/v1/filetransfer"
TUS_VERSION = "1.0.0"
TUS_CHUNK = 8 * 1024 * 1024
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=120)


class BearerTokens(Protocol):
    """Where the client's bearer tokens come from: Maskinporten-style (AltinnTokenSource) or the broker's own
    grant endpoint."""

    async def token(self, session: aiohttp.ClientSession) -> str: ...

    def invalidate(self) -> None: ...


def party(orgnr: str) -> str:
    """A party as Altinn writes it in requests: ``0192:<orgnr>``."""
    return orgnr if ":" in orgnr else f"0192:{orgnr}"


class FileTransferClient:
    def __init__(self, base_url: str, tokens: BearerTokens, session: aiohttp.ClientSession | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self._session = session
        self._owns_session = session is None

    async def __aenter__(self) -> FileTransferClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=DEFAULT_TIMEOUT)
        return self._session

    async def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.tokens.token(self.session)}", **(extra or {})}

    async def _call(self, method: str, path: str, *, expect_json: bool = True, **kwargs: Any) -> Any:
        """One call; a 401 fetches a new token and tries once more (bodies that are files are not retried)."""
        extra = kwargs.pop("headers", None)
        for attempt in (1, 2):
            headers = await self._headers(extra)
            async with self.session.request(method, f"{self.base_url}{path}", headers=headers, **kwargs) as response:
                if response.status == 401 and attempt == 1 and not _is_stream(kwargs.get("data")):
                    self.tokens.invalidate()
                    continue
                await raise_for_problem(response)
                raw = await response.read()
                if not expect_json or not raw:
                    return raw
                return json.loads(raw)
        raise AssertionError("unreachable: the second attempt returns or raises")

    # Sending.

    async def initialize(
        self,
        *,
        file_name: str,
        resource_id: str,
        sender: str,
        recipients: Sequence[str],
        senders_reference: str | None = None,
        property_list: Mapping[str, str] | None = None,
        checksum: str | None = None,
    ) -> str:
        """Make a file transfer; returns its ``fileTransferId``."""
        body = _metadata(file_name, resource_id, sender, recipients, senders_reference, property_list, checksum)
        answer = await self._call("POST", API, json=body)
        return str(answer["fileTransferId"])

    async def upload(self, file_transfer_id: str, content: bytes | Path) -> str:
        """Upload the file (``application/octet-stream``, with its Content-Length); a path is streamed."""
        headers = {"Content-Type": "application/octet-stream"}
        if isinstance(content, Path):
            with await asyncio.to_thread(content.open, "rb") as stream:
                answer = await self._call("POST", f"{API}/{file_transfer_id}/upload", data=stream, headers=headers)
        else:
            answer = await self._call("POST", f"{API}/{file_transfer_id}/upload", data=content, headers=headers)
        return str(answer.get("fileTransferId", file_transfer_id)) if isinstance(answer, dict) else file_transfer_id

    async def initialize_and_upload(
        self,
        content: bytes | Path,
        *,
        file_name: str,
        resource_id: str,
        sender: str,
        recipients: Sequence[str],
        senders_reference: str | None = None,
        property_list: Mapping[str, str] | None = None,
        checksum: str | None = None,
    ) -> str:
        """Initialize and upload in one ``multipart/form-data`` request (``Metadata.*`` and ``FileTransfer``)."""
        form = aiohttp.FormData()
        form.add_field("Metadata.FileName", file_name)
        form.add_field("Metadata.ResourceId", resource_id)
        form.add_field("Metadata.Sender", party(sender))
        for recipient in recipients:
            form.add_field("Metadata.Recipients", party(recipient))
        if senders_reference:
            form.add_field("Metadata.SendersFileTransferReference", senders_reference)
        for key, value in (property_list or {}).items():
            form.add_field(f"Metadata.PropertyList[{key}]", value)
        if checksum:
            form.add_field("Metadata.Checksum", checksum)
        stream: BinaryIO | None = None
        try:
            if isinstance(content, Path):
                stream = await asyncio.to_thread(content.open, "rb")
                form.add_field("FileTransfer", stream, filename=file_name, content_type="application/octet-stream")
            else:
                form.add_field("FileTransfer", content, filename=file_name, content_type="application/octet-stream")
            answer = await self._call("POST", f"{API}/upload", data=form)
        finally:
            if stream is not None:
                stream.close()
        if isinstance(answer, dict):
            return str(answer["fileTransferId"])
        return str(answer).strip('"')

    # Reading.

    async def overview(self, file_transfer_id: str) -> FileTransferOverview:
        return FileTransferOverview.from_json(await self._call("GET", f"{API}/{file_transfer_id}"))

    async def details(self, file_transfer_id: str) -> FileTransferOverview:
        """The overview with the transfer's and every recipient's status history."""
        return FileTransferOverview.from_json(await self._call("GET", f"{API}/{file_transfer_id}/details"))

    async def search(
        self,
        resource_id: str,
        *,
        status: str | None = None,
        recipient_status: str | None = None,
        from_time: datetime | None = None,
        to_time: datetime | None = None,
        role: str | None = None,
    ) -> list[str]:
        """The ids of the transfers the caller may see that match (as Altinn: ids only)."""
        params = {"resourceId": resource_id}
        for name, value in (("status", status), ("recipientStatus", recipient_status), ("role", role)):
            if value:
                params[name] = value
        for name, moment in (("from", from_time), ("to", to_time)):
            if moment is not None:
                params[name] = moment.isoformat()
        answer = await self._call("GET", API, params=params)
        return [str(item) for item in answer]

    async def download(self, file_transfer_id: str, byte_range: tuple[int, int | None] | None = None) -> bytes:
        """The file (or the bytes ``first``..``last`` inclusive, ``last`` None: to the end), into memory."""
        headers = {"Accept": "application/octet-stream"}
        if byte_range is not None:
            first, last = byte_range
            headers["Range"] = f"bytes={first}-{'' if last is None else last}"
        raw: bytes = await self._call("GET", f"{API}/{file_transfer_id}/download", expect_json=False, headers=headers)
        return raw

    async def download_to(self, file_transfer_id: str, target: Path, chunk_size: int = 1024 * 1024) -> int:
        """Stream the file into ``target`` without holding it in memory; returns the bytes written."""
        headers = await self._headers({"Accept": "application/octet-stream"})
        url = f"{self.base_url}{API}/{file_transfer_id}/download"
        written = 0
        async with self.session.get(url, headers=headers) as response:
            await raise_for_problem(response)
            with await asyncio.to_thread(target.open, "wb") as out:
                async for chunk in response.content.iter_chunked(chunk_size):
                    await asyncio.to_thread(out.write, chunk)
                    written += len(chunk)
        return written

    async def confirm_download(self, file_transfer_id: str) -> None:
        await self._call("POST", f"{API}/{file_transfer_id}/confirmdownload", expect_json=False)

    # Resumable upload (TUS 1.0).

    def _tus_path(self, file_transfer_id: str) -> str:
        return f"{API}/upload/tus/{file_transfer_id}"

    async def tus_offset(self, file_transfer_id: str) -> int | None:
        """How much of the upload the broker has (HEAD); None when there is no upload yet."""
        headers = await self._headers({"Tus-Resumable": TUS_VERSION})
        url = f"{self.base_url}{self._tus_path(file_transfer_id)}"
        async with self.session.head(url, headers=headers) as response:
            if response.status in (404, 410):
                return None
            await raise_for_problem(response)
            return int(response.headers["Upload-Offset"])

    async def tus_upload(
        self, file_transfer_id: str, content: bytes | Path, *, chunk_size: int = TUS_CHUNK, retries: int = 3
    ) -> None:
        """Upload in chunks; a failed chunk is resumed from the offset the broker reports (up to ``retries``)."""
        length = (await asyncio.to_thread(content.stat)).st_size if isinstance(content, Path) else len(content)
        offset = await self.tus_offset(file_transfer_id)
        if offset is None:
            await self._call(
                "POST",
                self._tus_path(file_transfer_id),
                expect_json=False,
                headers={"Tus-Resumable": TUS_VERSION, "Upload-Length": str(length)},
            )
            offset = 0
        failures = 0
        while offset < length:
            chunk = await _read(content, offset, min(chunk_size, length - offset))
            try:
                offset = await self._patch(file_transfer_id, offset, chunk)
                failures = 0
            except (aiohttp.ClientError, TimeoutError):
                failures += 1
                if failures > retries:
                    raise
                await asyncio.sleep(0.2 * 2**failures)
                offset = await self.tus_offset(file_transfer_id) or 0

    async def _patch(self, file_transfer_id: str, offset: int, chunk: bytes) -> int:
        headers = await self._headers(
            {
                "Tus-Resumable": TUS_VERSION,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            }
        )
        url = f"{self.base_url}{self._tus_path(file_transfer_id)}"
        async with self.session.patch(url, data=chunk, headers=headers) as response:
            await raise_for_problem(response)
            return int(response.headers.get("Upload-Offset", offset + len(chunk)))

    async def tus_terminate(self, file_transfer_id: str) -> None:
        await self._call(
            "DELETE", self._tus_path(file_transfer_id), expect_json=False, headers={"Tus-Resumable": TUS_VERSION}
        )


def _metadata(
    file_name: str,
    resource_id: str,
    sender: str,
    recipients: Sequence[str],
    senders_reference: str | None,
    property_list: Mapping[str, str] | None,
    checksum: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "fileName": file_name,
        "resourceId": resource_id,
        "sender": party(sender),
        "recipients": [party(r) for r in recipients],
        "propertyList": dict(property_list or {}),
    }
    if senders_reference:
        body["sendersFileTransferReference"] = senders_reference
    if checksum:
        body["checksum"] = checksum
    return body


def _is_stream(data: object) -> bool:
    return data is not None and not isinstance(data, bytes | str | dict)


async def _read(content: bytes | Path, offset: int, size: int) -> bytes:
    if isinstance(content, bytes):
        return content[offset : offset + size]

    def read() -> bytes:
        with content.open("rb") as stream:
            stream.seek(offset)
            return stream.read(size)

    return await asyncio.to_thread(read)
