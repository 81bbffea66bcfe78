"""The extract: what the demo prints after registration, on SQLite and on PostgreSQL."""

from __future__ import annotations

from participants.kartverket.controls import Outcome
from participants.kartverket.extract import format_extract
from participants.kartverket.register import LandRegister
from participants.kartverket.registration import process_package
from participants.kartverket.seed import DEMO_SALE, seed
from tests.kartverket.conftest import SteppingClock, demo_documents, package


async def test_the_extract_shows_owners_and_rights_in_priority_order(register):
    lines = format_extract(await register.extract(DEMO_SALE.unit))

    assert lines[0] == "Grunnboksutskrift for 0301-208/47 (Fjellveien 12, 0458 Oslo)"
    assert "  Per Hansen (228175*****), andel 1/2" in lines
    assert not any(share.holder.ident in line for line in lines for share in DEMO_SALE.sellers)
    rights = lines[lines.index("Heftelser i prioritetsrekkefølge:") + 1 :]
    assert rights[0].startswith("  1. 1952/3311-1/200, Servitutt")
    assert rights[1].startswith("  2. 2015/412234-1/200, Pantedokument, NOK 3 200 000, rettighetshaver Fjellkysten")


async def test_registration_on_each_database(database_url):
    register = await LandRegister.open(database_url, clock=SteppingClock())
    try:
        assert await seed(register)
        decision = await process_package(package(demo_documents()), register)
        assert decision.outcome is Outcome.TINGLYST
        again = await process_package(package(demo_documents(), "FJM-2"), register)
        assert again.outcome is Outcome.AVVIST
        extract = await register.extract(DEMO_SALE.unit)
        assert {s.holder for s in extract.owners} == {s.holder for s in DEMO_SALE.buyers}
        assert [r.ref for r in extract.rights][-1] == decision.registered[1].rights[0]
    finally:
        await register.close()
