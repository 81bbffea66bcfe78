"""Register content behind Kartverket's public example submissions (kartverket/eksempelklient-etinglysing-
altinn), so each can be registered as Kartverket's test environment would: their units, the owners and
shares they name, and the mortgages the sletting example deletes. Documents and dates are synthetic; the
persons are test persons of Kartverket's test environment (see etinglysing/population.py).
"""

from __future__ import annotations

from participants.kartverket.model import Borettslagsandel, Matrikkelenhet, Party, RightKind, Share
from participants.kartverket.seed_types import SeedRight, SeedUnit, at, doc

NORDEA = Party.organisation("911044110", "NORDEA BANK NORGE ASA")
STATSBYGG = Party.organisation("971278374", "STATSBYGG")
OLA = Party.person("15048049769", "Ola Nordmann")
OLA_2 = Party.person("15048049722", "Ola Nordmann")
KARI = Party.person("15048049622", "Kari Nordmann")
KJOEPER = Party.person("15048049689", "Kjøpe Kjøpesen")
SIRI = Party.person("30101400022", "Siri Testesen")
REKVIRENT = Party.person("30101400001", "Testbruker")
KONKURSDEBITOR = Party.person("15048000123", "Per Nordmann")

SLETTET_PANT_1 = doc(2013, 123)
SLETTET_PANT_2 = doc(2013, 456)

EXAMPLE_UNITS: tuple[SeedUnit, ...] = (
    SeedUnit(Matrikkelenhet("0605", 38, 98), "Ringerike", (Share(STATSBYGG, 1, 1),), doc(1990, 4411), at(1990, 5, 2)),
    SeedUnit(
        Matrikkelenhet("0301", 82, 1),
        "Oslo",
        (Share(OLA, 1, 2), Share(OLA_2, 1, 2)),
        doc(2010, 120001),
        at(2010, 1, 4),
        (
            SeedRight(RightKind.PANT, NORDEA, SLETTET_PANT_1, at(2013, 1, 3), beloep=1_500_000),
            SeedRight(RightKind.PANT, NORDEA, SLETTET_PANT_2, at(2013, 1, 3, 11), beloep=500_000),
        ),
    ),
    SeedUnit(
        Matrikkelenhet("0301", 82, 2),
        "Oslo",
        (Share(OLA_2, 1, 2), Share(KARI, 1, 2)),
        doc(2010, 120002),
        at(2010, 1, 4),
    ),
    SeedUnit(Matrikkelenhet("0301", 82, 3), "Oslo", (Share(KONKURSDEBITOR, 1, 1),), doc(2011, 3301), at(2011, 2, 1)),
    SeedUnit(
        Matrikkelenhet("0301", 82, 4),
        "Oslo",
        (Share(OLA_2, 1, 1),),
        doc(2011, 3302),
        at(2011, 2, 1),
        expired_at=at(2016, 6, 1),
    ),
    SeedUnit(
        Borettslagsandel("952923978", 1),
        "Steinmo borettslag andel 1",
        (Share(OLA, 1, 1),),
        doc(2012, 7001),
        at(2012, 3, 1),
    ),
    SeedUnit(
        Borettslagsandel("952923978", 2),
        "Steinmo borettslag andel 2",
        (Share(KARI, 1, 2), Share(KJOEPER, 1, 2)),
        doc(2012, 7002),
        at(2012, 3, 1),
    ),
    SeedUnit(
        Borettslagsandel("959096503", 2),
        "Borettslaget Vefsn I andel 2",
        (Share(Party.organisation("971400005", "FORSVARETS OVERKOMMANDO"), 1, 1),),
        doc(2008, 9002),
        at(2008, 9, 1),
    ),
    SeedUnit(Matrikkelenhet("0301", 100, 17), "Oslo", (Share(REKVIRENT, 1, 1),), doc(2001, 5517), at(2001, 4, 2)),
    SeedUnit(
        Matrikkelenhet("0301", 100, 17, 1),
        "Oslo, feste 1",
        (Share(KARI, 1, 2), Share(SIRI, 1, 2)),
        doc(2005, 66101),
        at(2005, 8, 15),
    ),
    SeedUnit(Matrikkelenhet("0301", 207, 167), "Oslo", (Share(STATSBYGG, 1, 1),), doc(1999, 8167), at(1999, 6, 1)),
)
