"""Files that pass the schema but not the decoding, broken ZIPs and absurd status queries are refused as
unreadable, never a crash of Kartverket's intake (all three found by the fuzz target of the forsendelse).
"""

from __future__ import annotations

import io
import zipfile

import pytest

from participants.kartverket.etinglysing.container import pack
from participants.kartverket.etinglysing.schema import NAMESPACE, Unreadable
from participants.kartverket.etinglysing.service import ETinglysing
from tests.kartverket.etinglysing.conftest import EXAMPLES

MEGLER = "930000000"


async def test_a_number_the_schema_types_as_text_but_is_not_a_number_is_unreadable(kv: ETinglysing) -> None:
    data = (EXAMPLES / "sletting.xml").read_bytes()
    assert b"<embetenummer>200</embetenummer>" in data
    with pytest.raises(Unreadable, match="cannot be read"):
        await kv.handle(
            "valider", data.replace(b"<embetenummer>200</embetenummer>", b"<embetenummer>2x0</embetenummer>")
        )


async def test_a_zip_whose_deflate_stream_is_broken_is_unreadable(kv: ETinglysing) -> None:
    packed = bytearray(pack("forsendelse.xml", (EXAMPLES / "sletting.xml").read_bytes()))
    with zipfile.ZipFile(io.BytesIO(bytes(packed))) as archive:
        info = archive.infolist()[0]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    packed[start : start + 8] = b"\xff" * 8  # the compressed data itself, not the headers
    with pytest.raises(Unreadable, match="ZIP cannot be read"):
        await kv.handle("valider", bytes(packed), MEGLER)


@pytest.mark.parametrize("value", ["9" * 5000, "99999999999999999999", "²"])
async def test_a_status_query_for_an_absurd_innsending_id_is_unreadable(kv: ETinglysing, value: str) -> None:
    query = f'<inn:innsendingId xmlns:inn="{NAMESPACE}">{value}</inn:innsendingId>'.encode()
    with pytest.raises(Unreadable):
        await kv.handle("hentStatus", query, MEGLER)
