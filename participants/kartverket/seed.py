"""Synthetic land-register content for the simulator and the demo: units in Oslo, Bergen and Trondheim,
their owners (synthetic personal numbers, birth month + 80), mortgages and one restriction.

``DEMO_SALE`` names everything the demo transaction needs (the unit sold, sellers, buyers, the banks and the
sellers' mortgage the deed package deletes), so the bank and megler simulators build their messages from the
same facts the register holds. The demo persons are those of the test PKI (broker.xml.pki.DEMO_PERSONS). The
sellers also own the Bergen flat of xsd/examples/tinglysingsforsendelse.xml, with the mortgage it deletes, so
that example package passes against the seeded register too.
"""

from __future__ import annotations

from dataclasses import dataclass

from participants.kartverket.etinglysing.tables import utgaatte_registerenheter
from participants.kartverket.model import (
    Borettslagsandel,
    DocumentNumber,
    Matrikkelenhet,
    Party,
    RightKind,
    RightRef,
    Share,
)
from participants.kartverket.register import DEFAULT_EMBETE, LandRegister
from participants.kartverket.seed_examples import EXAMPLE_UNITS
from participants.kartverket.seed_types import SeedRight, SeedUnit
from participants.kartverket.seed_types import at as _at
from participants.kartverket.seed_types import doc as _doc

NORDLYS_SPAREBANK = Party.organisation("910000004", "Nordlys Sparebank")
FJELLKYSTEN_BANK = Party.organisation("920000002", "Fjellkysten Bank ASA")
FJORDMEGLEREN = Party.organisation("930000000", "Fjordmegleren Oppgjør AS")
KARTVERKET = Party.organisation("971040238", "Kartverket")
BOLIGSTIFTELSEN = Party.organisation("990000409", "Boligstiftelsen Nordre Aker")

KARI_NORDMANN = Party.person("15889210181", "Kari Nordmann")
OLA_NORDMANN = Party.person("03928810037", "Ola Nordmann")
PER_HANSEN = Party.person("22817510020", "Per Hansen")
INGRID_HANSEN = Party.person("04876610170", "Ingrid Hansen")


@dataclass(frozen=True, slots=True)
class DemoSale:
    """The demo's sale of one flat in Oslo: who sells, who buys, the banks and the mortgage to delete."""

    unit: Matrikkelenhet
    address: str
    sellers: tuple[Share, ...]
    buyers: tuple[Share, ...]
    kjoepesum: int
    sellers_bank: Party
    buyers_bank: Party
    megler: Party
    kartverket: Party
    existing_mortgage: RightRef
    existing_mortgage_beloep: int
    new_mortgage_beloep: int


DEMO_SALE = DemoSale(
    unit=Matrikkelenhet("0301", 208, 47),
    address="Fjellveien 12, 0458 Oslo",
    sellers=(Share(PER_HANSEN, 1, 2), Share(INGRID_HANSEN, 1, 2)),
    buyers=(Share(KARI_NORDMANN, 1, 2), Share(OLA_NORDMANN, 1, 2)),
    kjoepesum=6_450_000,
    sellers_bank=FJELLKYSTEN_BANK,
    buyers_bank=NORDLYS_SPAREBANK,
    megler=FJORDMEGLEREN,
    kartverket=KARTVERKET,
    existing_mortgage=RightRef(DocumentNumber(2015, 412234, DEFAULT_EMBETE), 1),
    existing_mortgage_beloep=3_200_000,
    new_mortgage_beloep=5_100_000,
)

RESTRICTED_UNIT = Matrikkelenhet("0301", 75, 210)
"""A unit with an urådighet held by BOLIGSTIFTELSEN: a transfer without its consent is refused."""
RESTRICTION = RightRef(DocumentNumber(2012, 98311, DEFAULT_EMBETE), 1)


def _person(fnr: str, name: str) -> Party:
    return Party.person(fnr, name)


SEED_UNITS: tuple[SeedUnit, ...] = (
    SeedUnit(
        DEMO_SALE.unit,
        DEMO_SALE.address,
        DEMO_SALE.sellers,
        _doc(2015, 412233),
        _at(2015, 6, 3),
        (
            SeedRight(RightKind.SERVITUTT, None, _doc(1952, 3311), _at(1952, 4, 2), text="Erklæring om vannledning"),
            SeedRight(
                RightKind.PANT,
                FJELLKYSTEN_BANK,
                DEMO_SALE.existing_mortgage.document,
                _at(2015, 6, 3),
                beloep=DEMO_SALE.existing_mortgage_beloep,
            ),
        ),
    ),
    SeedUnit(
        Matrikkelenhet("0301", 208, 48),
        "Fjellveien 14, 0458 Oslo",
        (Share(_person("11816210110", "Astrid Lien"), 1, 1),),
        _doc(2009, 188021),
        _at(2009, 3, 12),
        (SeedRight(RightKind.PANT, NORDLYS_SPAREBANK, _doc(2009, 188022), _at(2009, 3, 12), beloep=2_400_000),),
    ),
    SeedUnit(
        Matrikkelenhet("0301", 122, 306, 0, 4),
        "Thereses gate 40 H0203, 0354 Oslo",
        (Share(_person("05857110082", "Jonas Berg"), 1, 1),),
        _doc(2021, 702115),
        _at(2021, 9, 20),
        (SeedRight(RightKind.PANT, FJELLKYSTEN_BANK, _doc(2021, 702116), _at(2021, 9, 20), beloep=3_850_000),),
    ),
    SeedUnit(
        Matrikkelenhet("0301", 41, 102),
        "Karl Johans gate 5, 0154 Oslo",
        (Share(Party.organisation("990000107", "Solsiden Eiendom AS"), 1, 1),),
        _doc(1998, 51207),
        _at(1998, 11, 2),
    ),
    SeedUnit(
        RESTRICTED_UNIT,
        "Kapellveien 31, 0487 Oslo",
        (Share(_person("27915510189", "Hilde Strand"), 1, 1),),
        _doc(2012, 98310),
        _at(2012, 2, 14),
        (
            SeedRight(
                RightKind.URAADIGHET,
                BOLIGSTIFTELSEN,
                RESTRICTION.document,
                _at(2012, 2, 14),
                text="Forbud mot salg og pantsettelse uten samtykke fra Boligstiftelsen Nordre Aker",
            ),
        ),
    ),
    SeedUnit(
        Matrikkelenhet("4601", 165, 412, 0, 3),
        "Nygårdsgaten 91 H0301, 5008 Bergen",
        DEMO_SALE.sellers,
        _doc(2019, 845212),
        _at(2019, 10, 1),
        (SeedRight(RightKind.PANT, FJELLKYSTEN_BANK, _doc(2019, 845213), _at(2019, 10, 1), beloep=2_900_000),),
    ),
    SeedUnit(
        Matrikkelenhet("4601", 12, 55),
        "Fjellsiden 8, 5014 Bergen",
        (Share(_person("14880310039", "Sindre Vik"), 1, 1),),
        _doc(2017, 330418),
        _at(2017, 5, 22),
    ),
    SeedUnit(
        Matrikkelenhet("5001", 403, 18),
        "Bakkegata 3, 7014 Trondheim",
        (
            Share(_person("30876810189", "Marte Ås"), 2, 3),
            Share(_person("17844610041", "Tor Ås"), 1, 3),
        ),
        _doc(2011, 264001),
        _at(2011, 8, 30),
        (SeedRight(RightKind.PANT, NORDLYS_SPAREBANK, _doc(2011, 264002), _at(2011, 8, 30), beloep=1_750_000),),
    ),
    SeedUnit(
        Matrikkelenhet("5001", 57, 230),
        "Sluppenvegen 10, 7037 Trondheim",
        (Share(Party.organisation("990000301", "Nidelva Næringsbygg AS"), 1, 1),),
        _doc(2004, 77190),
        _at(2004, 1, 15),
    ),
    SeedUnit(
        Borettslagsandel("990000204", 14),
        "Lerkendal Borettslag andel 14, Trondheim",
        (Share(_person("02859010000", "Eirik Moe"), 1, 1),),
        _doc(2020, 510077),
        _at(2020, 3, 2),
    ),
    *EXAMPLE_UNITS,
)


async def seed(register: LandRegister, units: tuple[SeedUnit, ...] = SEED_UNITS) -> bool:
    """Load ``units`` into an empty register in one transaction; answers False (and writes nothing) when the
    register already holds units, so a restarted simulator keeps what it has registered since."""
    async with register.transaction() as tx:
        if await tx.unit_count():
            return False
        for spec in units:
            await tx.add_unit(spec.unit, spec.address)
            deed_id, _ = await tx.add_document("eierskifte", spec.deed_registered_at, number=spec.deed)
            await tx.add_owners(spec.unit, spec.owners, deed_id)
            for right in spec.rights:
                document_id, _ = await tx.add_document(right.kind.value, right.registered_at, number=right.number)
                await tx.add_right(
                    spec.unit, document_id, right.kind, right.holder, beloep=right.beloep, text=right.text
                )
            if spec.expired_at is not None:
                await tx.connection.execute(
                    utgaatte_registerenheter.insert().values(key=spec.unit.key, utgaatt_at=spec.expired_at)
                )
    return True
