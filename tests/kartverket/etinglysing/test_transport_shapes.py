"""What arrives and how: one forsendelse per ZIP or as plain XML, the operation named beside it; a status
asked for only by its own innsender; a technical failure of the register kept for a later attempt."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import text

from participants.kartverket.etinglysing.container import MAX_UNPACKED, pack
from participants.kartverket.etinglysing.schema import Unreadable
from participants.kartverket.etinglysing.service import ETinglysing, UnknownInnsending
from tests.kartverket.etinglysing.conftest import example, open_service, statuses


async def test_a_zip_with_one_forsendelse_is_taken_as_the_file_itself(kv: ETinglysing) -> None:
    *_, final = statuses(await kv.handle("sendTilTinglysing", pack("forsendelse.xml", example("pant.xml"))))
    assert final.utfall == "TINGLYST"


def _empty_zip() -> bytes:
    buffer = io.BytesIO()
    zipfile.ZipFile(buffer, "w").close()
    return buffer.getvalue()


@pytest.mark.parametrize(
    "payload",
    [pytest.param(b"PK\x03\x04 not really a zip", id="damaged"), pytest.param(_empty_zip(), id="empty zip")],
)
async def test_a_zip_that_is_not_one_readable_file_is_unreadable(kv: ETinglysing, payload: bytes) -> None:
    with pytest.raises(Unreadable):
        await kv.handle("sendTilTinglysing", payload)


async def test_two_files_in_one_zip_are_refused(kv: ETinglysing) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.xml", example("pant.xml"))
        archive.writestr("b.xml", example("sletting.xml"))
    with pytest.raises(Unreadable, match="exactly one file"):
        await kv.handle("sendTilTinglysing", buffer.getvalue())


async def test_a_zip_bomb_stops_at_the_limit(kv: ETinglysing) -> None:
    bomb = pack("forsendelse.xml", b" " * (MAX_UNPACKED + 10))
    assert len(bomb) < 100_000
    with pytest.raises(Unreadable, match="larger than"):
        await kv.handle("sendTilTinglysing", bomb)


async def test_the_file_must_fit_the_operation(kv: ETinglysing) -> None:
    with pytest.raises(Unreadable, match="hentStatus takes an innsendingId"):
        await kv.handle("hentStatus", example("pant.xml"))
    with pytest.raises(Unreadable, match="takes a forsendelse"):
        await kv.handle("sendTilTinglysing", example("hentStatus.xml"))
    with pytest.raises(Unreadable, match="unknown operation"):
        await kv.handle("slettAlt", example("pant.xml"))


async def test_a_status_is_answered_to_its_own_innsender_only(kv: ETinglysing) -> None:
    received, *_ = statuses(await kv.handle("sendTilTinglysing", example("pant.xml"), sender="911044110"))
    request = example("hentStatus.xml").replace(b"1010010", (received.innsending_id or "").encode())
    [status] = statuses(await kv.handle("hentStatus", request, sender="911044110"))
    assert status.utfall == "TINGLYST"
    with pytest.raises(UnknownInnsending):
        await kv.handle("hentStatus", request, sender="910000004")


async def test_a_technical_failure_is_reported_and_taken_up_again(tmp_path: Path) -> None:
    """The register refuses every new document (a trigger stands in for a broken disk): the submission is
    received, reported UKJENT_TEKNISK_FEIL, and registered when the simulator takes it up again."""
    register, kv = await open_service(tmp_path)
    try:
        async with register.engine.begin() as conn:
            await conn.execute(
                text(
                    "CREATE TRIGGER broken BEFORE INSERT ON dokumenter BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
                )
            )
        received, failed = statuses(await kv.handle("sendTilTinglysing", example("pant.xml")))
        assert (received.saksstatus, failed.saksstatus, failed.utfall) == ("MOTTATT", "UKJENT_TEKNISK_FEIL", "UAVKLART")
        assert failed.innsending_id == received.innsending_id
        assert statuses([await kv.status(int(received.innsending_id or 0))])[0].saksstatus == "UKJENT_TEKNISK_FEIL"
        async with register.engine.begin() as conn:
            await conn.execute(text("DROP TRIGGER broken"))
        *_, final = statuses(await kv.resume())
        assert (final.innsending_id, final.saksstatus, final.utfall) == (
            received.innsending_id,
            "AVSLUTTET",
            "TINGLYST",
        )
        assert await kv.resume() == []
    finally:
        await register.close()
