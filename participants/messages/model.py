"""The values DSVE messages are made of, as typed Python data.

Each value converts to and from the dict shape xmlschema encodes and decodes (element names as keys,
``@Id`` for attributes, lists for repeated elements), so builders never write XML by hand and readers
never walk raw trees. The signed inner documents (``Pant``, ``Sletting``, ``Eierskifte``) encode in the
document namespace of xsd/dokument.xsd, so the same element can travel from one message to another.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from broker.domain.identifiers import mask_fodselsnummer
from participants.messages.schemas import in_document_namespace

Data = dict[str, Any]


def as_list(value: Any) -> list[Any]:
    """xmlschema gives a single repeated element as a list, but tolerate a bare value all the same."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))


@dataclass(frozen=True, slots=True)
class Person:
    """A person by fødselsnummer; ``str`` masks the number so a person can be printed and logged."""

    fodselsnummer: str = field(repr=False)
    name: str

    def to_data(self) -> Data:
        return {"foedselsnummer": self.fodselsnummer, "navn": self.name}

    @classmethod
    def from_data(cls, data: Data) -> Person:
        return cls(fodselsnummer=str(data["foedselsnummer"]), name=str(data["navn"]))

    def __str__(self) -> str:
        return f"{self.name} ({mask_fodselsnummer(self.fodselsnummer)})"


@dataclass(frozen=True, slots=True)
class Organisation:
    orgnr: str
    name: str

    def to_data(self) -> Data:
        return {"orgnr": self.orgnr, "navn": self.name}

    @classmethod
    def from_data(cls, data: Data) -> Organisation:
        return cls(orgnr=str(data["orgnr"]), name=str(data.get("navn") or data["orgnr"]))

    def __str__(self) -> str:
        return f"{self.name} ({self.orgnr})"


Party = Person | Organisation


def party_choice(party: Party) -> Data:
    """A party in a ``PartValg`` choice: ``{"person": ...}`` or ``{"organisasjon": ...}``."""
    return {"person": party.to_data()} if isinstance(party, Person) else {"organisasjon": party.to_data()}


def party_from_choice(data: Data) -> Party:
    if "person" in data:
        return Person.from_data(data["person"])
    return Organisation.from_data(data["organisasjon"])


def parties_data(parties: list[Party] | tuple[Party, ...]) -> Data:
    """A ``Parter`` list (persons and organisations, repeated choice) as xmlschema wants it."""
    data: Data = {}
    persons = [p.to_data() for p in parties if isinstance(p, Person)]
    organisations = [p.to_data() for p in parties if isinstance(p, Organisation)]
    if persons:
        data["person"] = persons
    if organisations:
        data["organisasjon"] = organisations
    return data


def parties_from_data(data: Data) -> tuple[Party, ...]:
    persons = tuple(Person.from_data(p) for p in as_list(data.get("person")))
    organisations = tuple(Organisation.from_data(o) for o in as_list(data.get("organisasjon")))
    return persons + organisations


@dataclass(frozen=True, slots=True)
class Matrikkelenhet:
    kommunenummer: str
    gaardsnummer: int
    bruksnummer: int
    festenummer: int = 0
    seksjonsnummer: int = 0

    @property
    def key(self) -> str:
        """The same key the land register uses, so units compare across systems."""
        return f"{self.kommunenummer}-{self.gaardsnummer}-{self.bruksnummer}-{self.festenummer}-{self.seksjonsnummer}"

    def to_data(self) -> Data:
        return {"matrikkelenhet": self.unit_data()}

    def unit_data(self) -> Data:
        return {
            "kommunenummer": self.kommunenummer,
            "gaardsnummer": self.gaardsnummer,
            "bruksnummer": self.bruksnummer,
            "festenummer": self.festenummer,
            "seksjonsnummer": self.seksjonsnummer,
        }

    def __str__(self) -> str:
        text = f"{self.kommunenummer}-{self.gaardsnummer}/{self.bruksnummer}"
        if self.festenummer or self.seksjonsnummer:
            text += f"/{self.festenummer}"
        if self.seksjonsnummer:
            text += f"/{self.seksjonsnummer}"
        return text


@dataclass(frozen=True, slots=True)
class Borettslagsandel:
    orgnr: str
    andelsnummer: int

    @property
    def key(self) -> str:
        return f"{self.orgnr}-{self.andelsnummer}"

    def to_data(self) -> Data:
        return {"borettslagsandel": {"orgnr": self.orgnr, "andelsnummer": self.andelsnummer}}

    def __str__(self) -> str:
        return f"borettslag {self.orgnr} andel {self.andelsnummer}"


Registerenhet = Matrikkelenhet | Borettslagsandel


def unit_from_data(data: Data) -> Registerenhet:
    """A ``Registerenhet`` choice read back; festenummer and seksjonsnummer default to 0 like the XSD."""
    if "matrikkelenhet" in data:
        m = data["matrikkelenhet"]
        return Matrikkelenhet(
            kommunenummer=str(m["kommunenummer"]),
            gaardsnummer=int(m["gaardsnummer"]),
            bruksnummer=int(m["bruksnummer"]),
            festenummer=int(m.get("festenummer") or 0),
            seksjonsnummer=int(m.get("seksjonsnummer") or 0),
        )
    b = data["borettslagsandel"]
    return Borettslagsandel(orgnr=str(b["orgnr"]), andelsnummer=int(b["andelsnummer"]))


def units_data(units: tuple[Registerenhet, ...] | list[Registerenhet]) -> Data:
    return {"registerenhet": [u.to_data() for u in units]}


def units_from_data(data: Data) -> tuple[Registerenhet, ...]:
    return tuple(unit_from_data(u) for u in as_list(data.get("registerenhet")))


@dataclass(frozen=True, slots=True)
class Share:
    """An owner and the fraction owned; shares of one side of a deal add up to one whole."""

    party: Party
    fraction: Fraction = Fraction(1)

    def to_data(self) -> Data:
        return {
            **party_choice(self.party),
            "andel": {"teller": self.fraction.numerator, "nevner": self.fraction.denominator},
        }

    @classmethod
    def from_data(cls, data: Data) -> Share:
        andel = data["andel"]
        return cls(party=party_from_choice(data), fraction=Fraction(int(andel["teller"]), int(andel["nevner"])))


def shares_data(shares: tuple[Share, ...] | list[Share]) -> Data:
    return {"part": [s.to_data() for s in shares]}


def shares_from_data(data: Data) -> tuple[Share, ...]:
    return tuple(Share.from_data(p) for p in as_list(data.get("part")))


def equal_shares(parties: tuple[Party, ...] | list[Party]) -> tuple[Share, ...]:
    return tuple(Share(p, Fraction(1, len(parties))) for p in parties)


@dataclass(frozen=True, slots=True)
class RightReference:
    """A registered right: document year, number and office, and the right's number in that document."""

    year: int
    document_number: int
    office: int
    right_number: int

    def to_data(self) -> Data:
        return {
            "dokumentaar": self.year,
            "dokumentnummer": self.document_number,
            "embetenummer": self.office,
            "rettsstiftelsesnummer": self.right_number,
        }

    @classmethod
    def from_data(cls, data: Data) -> RightReference:
        return cls(
            year=int(data["dokumentaar"]),
            document_number=int(data["dokumentnummer"]),
            office=int(data["embetenummer"]),
            right_number=int(data["rettsstiftelsesnummer"]),
        )

    def __str__(self) -> str:
        return f"{self.year}/{self.document_number}-{self.right_number}/{self.office}"


@dataclass(frozen=True, slots=True)
class RegisteredDocument:
    """What Kartverket assigned to one document of a registered package (``TinglystDokument``)."""

    document_reference: str
    year: int
    document_number: int
    office: int
    right_numbers: tuple[int, ...]
    registered: datetime

    def to_data(self) -> Data:
        return {
            "dokumentreferanse": self.document_reference,
            "dokumentaar": self.year,
            "dokumentnummer": self.document_number,
            "embetenummer": self.office,
            "rettsstiftelsesnummer": list(self.right_numbers),
            "tinglyst": self.registered.isoformat(),
        }

    @classmethod
    def from_data(cls, data: Data) -> RegisteredDocument:
        return cls(
            document_reference=str(data["dokumentreferanse"]),
            year=int(data["dokumentaar"]),
            document_number=int(data["dokumentnummer"]),
            office=int(data["embetenummer"]),
            right_numbers=tuple(int(n) for n in as_list(data["rettsstiftelsesnummer"])),
            registered=as_datetime(data["tinglyst"]),
        )

    def right(self, position: int = 0) -> RightReference:
        return RightReference(self.year, self.document_number, self.office, self.right_numbers[position])


@dataclass(frozen=True, slots=True)
class Pant:
    """The mortgage deed itself: who lends, who pledges, how much, on which units, at which priority."""

    element_id: str
    mortgagee: Organisation
    mortgagors: tuple[Person, ...]
    amount: int
    units: tuple[Registerenhet, ...]
    priority: int = 1
    yields_to_amount: int | None = None

    def to_data(self) -> Data:
        prioritet: Data = {"prioritetsnummer": self.priority}
        if self.yields_to_amount is not None:
            prioritet["vikendeForBeloep"] = self.yields_to_amount
        return in_document_namespace(
            {
                "@Id": self.element_id,
                "panthaver": self.mortgagee.to_data(),
                "pantsettere": {"pantsetter": [p.to_data() for p in self.mortgagors]},
                "beloep": self.amount,
                "registerenheter": units_data(self.units),
                "prioritet": prioritet,
            }
        )

    @classmethod
    def from_data(cls, data: Data) -> Pant:
        prioritet = data["prioritet"]
        return cls(
            element_id=str(data["@Id"]),
            mortgagee=Organisation.from_data(data["panthaver"]),
            mortgagors=tuple(Person.from_data(p) for p in as_list(data["pantsettere"]["pantsetter"])),
            amount=int(data["beloep"]),
            units=units_from_data(data["registerenheter"]),
            priority=int(prioritet["prioritetsnummer"]),
            yields_to_amount=prioritet.get("vikendeForBeloep"),
        )


@dataclass(frozen=True, slots=True)
class Sletting:
    """The holder's request to delete its registered right on a unit."""

    element_id: str
    unit: Registerenhet
    right: RightReference
    holder: Organisation

    def to_data(self) -> Data:
        return in_document_namespace(
            {
                "@Id": self.element_id,
                "registerenhet": self.unit.to_data(),
                "rettsstiftelse": self.right.to_data(),
                "rettighetshaver": self.holder.to_data(),
            }
        )

    @classmethod
    def from_data(cls, data: Data) -> Sletting:
        return cls(
            element_id=str(data["@Id"]),
            unit=unit_from_data(data["registerenhet"]),
            right=RightReference.from_data(data["rettsstiftelse"]),
            holder=Organisation.from_data(data["rettighetshaver"]),
        )


@dataclass(frozen=True, slots=True)
class Eierskifte:
    """A transfer of ownership: the sellers give their shares to the buyers for the price."""

    element_id: str
    unit: Registerenhet
    transferors: tuple[Share, ...]
    acquirers: tuple[Share, ...]
    price: int
    takeover: date | None = None

    def to_data(self) -> Data:
        data: Data = {
            "@Id": self.element_id,
            "registerenhet": self.unit.to_data(),
            "overdragere": shares_data(self.transferors),
            "erververe": shares_data(self.acquirers),
            "kjoepesum": self.price,
        }
        if self.takeover is not None:
            data["overtakelsesdato"] = self.takeover.isoformat()
        return in_document_namespace(data)
