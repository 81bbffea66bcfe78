"""The simulated Folkeregister and Enhetsregister: who exists, under which name.

Kartverket checks every identifier and name a submission gives against these registers (names without
regard to case). The simulated registers hold the persons and enterprises of the seeded land register,
including those of Kartverket's public example submissions: those are test persons of Kartverket's test
environment, some with numbers whose check digits fail, which the registers accept because they exist there.
"""

from __future__ import annotations

from broker.domain.identifiers import is_valid_fodselsnummer, is_valid_orgnr
from participants.kartverket.model import Party, PartyKind

POPULATION: dict[str, str] = {
    # the demo and seed persons
    "15889210181": "Kari Nordmann",
    "03928810037": "Ola Nordmann",
    "22817510020": "Per Hansen",
    "04876610170": "Ingrid Hansen",
    "11816210110": "Astrid Lien",
    "05857110082": "Jonas Berg",
    "27915510189": "Hilde Strand",
    "14880310039": "Sindre Vik",
    "30876810189": "Marte Ås",
    "17844610041": "Tor Ås",
    "02859010000": "Eirik Moe",
    # test persons of Kartverket's examples
    "15048049769": "Ola Nordmann",
    "15048049722": "Ola Nordmann",
    "15048049622": "Kari Nordmann",
    "15048049689": "Kjøpe Kjøpesen",
    "15048000123": "Per Nordmann",
    "30101400001": "Testbruker",
    "30101400022": "Siri Testesen",
}

ENTERPRISES: dict[str, str] = {
    "910000004": "Nordlys Sparebank",
    "920000002": "Fjellkysten Bank ASA",
    "930000000": "Fjordmegleren Oppgjør AS",
    "971040238": "STATENS KARTVERK",
    "990000409": "Boligstiftelsen Nordre Aker",
    "990000107": "Solsiden Eiendom AS",
    "990000301": "Nidelva Næringsbygg AS",
    "990000204": "Lerkendal Borettslag",
    "911044110": "NORDEA BANK NORGE ASA",
    "971278374": "STATSBYGG",
    "958935420": "OSLO KOMMUNE",
    "952923978": "STEINMO BORETTSLAG",
    "959096503": "BORETTSLAGET VEFSN I",
    "971400005": "FORSVARETS OVERKOMMANDO",
    "975950662": "FORSVARSBYGG",
    "976756673": "EIENDOMSMEGLER 1 OSLO AS",
    "937884117": "NORGES BANK",
    "971648198": "STATENS INNKREVINGSSENTRAL",
}


class Registers:
    """Lookups in the simulated registers; a simulator may be given its own."""

    def __init__(self, population: dict[str, str] | None = None, enterprises: dict[str, str] | None = None) -> None:
        self.population = POPULATION if population is None else population
        self.enterprises = ENTERPRISES if enterprises is None else enterprises

    def name_of(self, party: Party) -> str | None:
        pool = self.population if party.kind is PartyKind.PERSON else self.enterprises
        return pool.get(party.ident)

    def is_enterprise(self, orgnr: str) -> bool:
        return orgnr in self.enterprises

    @staticmethod
    def well_formed(party: Party) -> bool:
        if party.kind is PartyKind.PERSON:
            return is_valid_fodselsnummer(party.ident)
        return is_valid_orgnr(party.ident)
