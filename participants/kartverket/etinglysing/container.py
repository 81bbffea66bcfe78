"""The Altinn file: a ZIP holding exactly one innsending XML file, or that XML file itself.

The ZIP comes from outside, so its entries are read with limits: one file, a bounded size after
decompression, and never more read than the limit allows (a ZIP bomb ends at the limit)."""

from __future__ import annotations

import io
import zipfile
import zlib

from participants.kartverket.etinglysing.schema import SchemaError, Unreadable

MAX_UNPACKED = 10 * 1024 * 1024


def _refuse(message: str) -> Unreadable:
    return Unreadable([SchemaError(0, 0, message)])


def unpack(payload: bytes, limit: int = MAX_UNPACKED) -> bytes:
    if not payload.startswith(b"PK\x03\x04"):
        return payload
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
        files = [info for info in archive.infolist() if not info.is_dir()]
        if len(files) != 1:
            raise _refuse(f"the ZIP must hold exactly one file, it holds {len(files)}")
        with archive.open(files[0]) as entry:
            data = entry.read(limit + 1)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        RuntimeError,
        EOFError,
        ValueError,
        zlib.error,
    ) as exc:
        if isinstance(exc, Unreadable):
            raise
        raise _refuse(f"the ZIP cannot be read: {exc}") from None
    if len(data) > limit:
        raise _refuse(f"the file in the ZIP is larger than {limit} bytes")
    return data


def pack(name: str, data: bytes) -> bytes:
    """A ZIP of one file, as a sender puts a forsendelse into its Altinn transfer."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()
