"""The land register's plain objects: property units, parties, shares, rights and the documents of a package.

No I/O here: the rules evaluate these objects, the repository stores them and the XML mapping builds them, so
each of the three can be tested and changed without the others.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

from broker.domain.identifiers import mask_fodselsnummer


class PartyKind(enum.StrEnum):
    PERSON = "person"
    ORGANISASJON = "organisasjon"


@dataclass(frozen=True, slots=True)
class Party:
    """A person (by fødselsnummer) or an organisation (by orgnr); equality ignores the name on purpose."""

    kind: PartyKind
    ident: str
    name: str = field(default="", compare=False)

    @classmethod
    def person(cls, fodselsnummer: str, name: str = "") -> Party:
        return cls(PartyKind.PERSON, fodselsnummer, name)

    @classmethod
    def organisation(cls, orgnr: str, name: str = "") -> Party:
        return cls(PartyKind.ORGANISASJON, orgnr, name)

    @property
    def masked(self) -> str:
        """The identifier as it may appear in logs and texts: personal numbers never in clear."""
        return mask_fodselsnummer(self.ident) if self.kind is PartyKind.PERSON else self.ident

    def __str__(self) -> str:
        return f"{self.name} ({self.masked})" if self.name else self.masked


@dataclass(frozen=True, slots=True)
class Matrikkelenhet:
    """A cadastral unit: kommune, gård, bruk, feste and seksjon (the last two 0 when absent)."""

    kommunenummer: str
    gaardsnummer: int
    bruksnummer: int
    festenummer: int = 0
    seksjonsnummer: int = 0

    @property
    def key(self) -> str:
        return f"{self.kommunenummer}-{self.gaardsnummer}-{self.bruksnummer}-{self.festenummer}-{self.seksjonsnummer}"

    def __str__(self) -> str:
        text = f"{self.kommunenummer}-{self.gaardsnummer}/{self.bruksnummer}"
        if self.festenummer:
            text += f"/{self.festenummer}"
        if self.seksjonsnummer:
            text += f"/{self.seksjonsnummer}" if self.festenummer else f"/0/{self.seksjonsnummer}"
        return text


@dataclass(frozen=True, slots=True)
class Borettslagsandel:
    """A share in a housing cooperative: the cooperative's orgnr and the share number."""

    orgnr: str
    andelsnummer: int

    @property
    def key(self) -> str:
        return f"borettslag-{self.orgnr}-{self.andelsnummer}"

    def __str__(self) -> str:
        return f"borettslag {self.orgnr} andel {self.andelsnummer}"


Registerenhet = Matrikkelenhet | Borettslagsandel


@dataclass(frozen=True, slots=True)
class Share:
    """A holder's ownership share of a unit, as a fraction teller/nevner (kept unreduced as registered)."""

    holder: Party
    teller: int
    nevner: int

    @property
    def fraction(self) -> Fraction:
        return Fraction(self.teller, self.nevner)


class RightKind(enum.StrEnum):
    PANT = "pant"
    SERVITUTT = "servitutt"
    URAADIGHET = "uraadighet"
    ANNEN_HEFTELSE = "annen_heftelse"
    UTLEGG = "utlegg"
    ANMERKNING = "anmerkning"


@dataclass(frozen=True, slots=True, order=True)
class DocumentNumber:
    """A registered document's identity: year, running number within the year and the office (embete)."""

    year: int
    number: int
    embete: int

    def __str__(self) -> str:
        return f"{self.year}/{self.number}/{self.embete}"


@dataclass(frozen=True, slots=True, order=True)
class RightRef:
    """One right (rettsstiftelse) of a registered document: the document and the right's number within it."""

    document: DocumentNumber
    rettsstiftelsesnummer: int

    def __str__(self) -> str:
        d = self.document
        return f"{d.year}/{d.number}-{self.rettsstiftelsesnummer}/{d.embete}"


@dataclass(frozen=True, slots=True)
class Right:
    """A registered encumbrance; ``holder`` is the mortgagee for a pant, the one who may consent for an
    urådighet, and None for a servitutt that benefits another unit rather than a party."""

    ref: RightRef
    kind: RightKind
    unit: Registerenhet
    holder: Party | None
    registered_at: datetime
    beloep: int | None = None
    text: str = ""
    active: bool = True


@dataclass(frozen=True, slots=True)
class Signers:
    """Who signed one document, as the signature verifier established it."""

    persons: frozenset[str] = frozenset()
    organisations: frozenset[str] = frozenset()

    def includes(self, party: Party) -> bool:
        pool = self.persons if party.kind is PartyKind.PERSON else self.organisations
        return party.ident in pool

    @property
    def empty(self) -> bool:
        return not self.persons and not self.organisations


@dataclass(frozen=True, slots=True)
class Eierskifte:
    """A transfer of ownership: every seller's whole current share passes to the buyers."""

    reference: str
    unit: Registerenhet
    sellers: tuple[Share, ...]
    buyers: tuple[Share, ...]
    kjoepesum: int


@dataclass(frozen=True, slots=True)
class Pant:
    """A mortgage deed: the mortgagors pledge the unit to the mortgagee (a bank) for ``beloep`` NOK."""

    reference: str
    units: tuple[Registerenhet, ...]
    mortgagors: tuple[Party, ...]
    mortgagee: Party
    beloep: int
    prioritet: int = 1


@dataclass(frozen=True, slots=True)
class Sletting:
    """A deletion of an earlier registered right, declared by its holder."""

    reference: str
    unit: Registerenhet
    right: RightRef
    holder: Party


@dataclass(frozen=True, slots=True)
class Samtykke:
    """The consent of an urådighet's holder to named documents of the same package; it is not registered
    itself, it lifts the restriction for the documents it names."""

    reference: str
    unit: Registerenhet
    uraadighet: RightRef
    giver: Party
    applies_to: tuple[str, ...]


Dokument = Eierskifte | Pant | Sletting | Samtykke


def parties_of(document: Dokument) -> tuple[Party, ...]:
    """Every party a document names, so their identifiers' check digits can be checked in one place."""
    if isinstance(document, Eierskifte):
        return tuple(share.holder for share in document.sellers + document.buyers)
    if isinstance(document, Pant):
        return (*document.mortgagors, document.mortgagee)
    if isinstance(document, Sletting):
        return (document.holder,)
    return (document.giver,)


def units_of(document: Dokument) -> tuple[Registerenhet, ...]:
    """The units a document concerns: a mortgage may encumber several, every other document one."""
    return document.units if isinstance(document, Pant) else (document.unit,)


@dataclass(frozen=True, slots=True)
class SignedDocument:
    """A document with its verified signers; ``signature_problem`` says why a signature failed, if one did."""

    document: Dokument
    signers: Signers
    signature_problem: str | None = None


class Operation(enum.StrEnum):
    VALIDER = "valider"
    TINGLYS = "tinglys"


@dataclass(frozen=True, slots=True)
class Package:
    """A deed package (tinglysingsforsendelse) as the rules see it: ordered documents, each with its signers."""

    innsendingsreferanse: str
    operation: Operation
    documents: tuple[SignedDocument, ...]
    sender_orgnr: str = ""


@dataclass(frozen=True, slots=True)
class RegisteredDocument:
    """What registration gave one document of a package: its number, time and the numbers of its new rights."""

    index: int
    reference: str
    number: DocumentNumber
    registered_at: datetime
    rights: tuple[RightRef, ...] = ()


@dataclass(frozen=True, slots=True)
class Grunnboksutskrift:
    """A land-register extract: the unit, its current owners and its active rights in priority order."""

    unit: Registerenhet
    address: str
    owners: tuple[Share, ...]
    rights: tuple[Right, ...]
