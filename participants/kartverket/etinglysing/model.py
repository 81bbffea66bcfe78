"""A ``forsendelse`` as the rules see it: documents in følgebrev order, each a list of rettsstiftelser, and
who signed what. Plain objects, no XML: the decoder builds them, the rules judge them, the registration
writes them, each testable alone."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from participants.kartverket.model import DocumentNumber, Party, PartyKind, Registerenhet, RightRef


def party(ident: str, name: str = "") -> Party:
    """A person by an 11-digit number, anything else as an organisation (Kartverket's one identifier field)."""
    kind = PartyKind.PERSON if len(ident) == 11 else PartyKind.ORGANISASJON
    return Party(kind, ident, name)


@dataclass(frozen=True, slots=True)
class Andel:
    """An ideal share of a unit's right; ``holder`` is None where the sender named no holder."""

    teller: int
    nevner: int
    holder: Party | None = None

    @property
    def fraction(self) -> Fraction:
        return Fraction(self.teller, self.nevner) if self.nevner > 0 else Fraction(0)


@dataclass(frozen=True, slots=True)
class DelAvEnhet:
    """A unit's right, whole (no shares) or limited to the named shares (begrensetTil)."""

    unit: Registerenhet
    rettstype: str
    shares: tuple[Andel, ...] = ()


@dataclass(frozen=True, slots=True)
class Sivilstand:
    """A declaration of marital status: whether the family home rules require the spouse's consent."""

    person: Party
    krever_samtykke: bool
    ektefelle: Party | None = None


@dataclass(frozen=True, slots=True)
class Rettsstiftelse:
    """What every rettsstiftelse has: its element name, the sender's reference and its type code."""

    element: str
    reference: str
    kode: str
    kodenavn: str


@dataclass(frozen=True, slots=True)
class OmsattRett:
    """One unit changing hands in an overdragelse: shares sold and shares bought."""

    del_av: DelAvEnhet
    solgte: tuple[Andel, ...]
    kjoepte: tuple[Andel, ...]


@dataclass(frozen=True, slots=True)
class Overdragelse(Rettsstiftelse):
    """eierskifteMatrikkelenhet, overdragelseAvFesterett, eierskifteBorettslagsandel."""

    omsatt: tuple[OmsattRett, ...]
    vederlag: int | None
    sivilstand: tuple[Sivilstand, ...]


@dataclass(frozen=True, slots=True)
class Heftelse(Rettsstiftelse):
    """pant, annenHeftelse, tvangsforretning: a burden on units or shares of them."""

    rettighetshavere: tuple[Party, ...]
    hefter_i: tuple[DelAvEnhet, ...]
    beloep: tuple[int, ...] = ()
    pantsettere: tuple[Party, ...] = ()
    sivilstand: tuple[Sivilstand, ...] = ()
    saksoekere: tuple[Party, ...] = ()
    saksoekte: tuple[Party, ...] = ()
    realkoblet_til: tuple[Registerenhet, ...] = ()


@dataclass(frozen=True, slots=True)
class RettHenvisning:
    """A registered right named by its document number, right number and type code."""

    ref: RightRef
    kode: str


@dataclass(frozen=True, slots=True)
class Rettsendring(Rettsstiftelse):
    """sletting, nedkvittering, transport, tinglysingPaaNy, prioritetsbestemmelse: a change to registered
    rights. ``inline`` counts references to rights of the same submission (not yet registered)."""

    endrer: tuple[RettHenvisning, ...]
    inline: int = 0
    nedkvittert_til: tuple[int, ...] = ()
    fra: tuple[Party, ...] = ()
    til: tuple[Party, ...] = ()
    veket_for: tuple[RettHenvisning, ...] = ()


@dataclass(frozen=True, slots=True)
class Anmerkning(Rettsstiftelse):
    """anmerkningPaaPerson: a note on a person (such as bankruptcy) that follows every right the person holds."""

    person: Party
    forvaltere: tuple[Party, ...]
    bostyrer: Party | None


@dataclass(frozen=True, slots=True)
class Matrikkelendring(Rettsstiftelse):
    """fradeling, sammenslåing, festenummer gitt bruksnummer, omnummerering: changes only the cadastre sends."""

    rekvirenter: tuple[Party, ...]
    fra: tuple[Registerenhet, ...]
    til: tuple[Registerenhet, ...]


AnyRettsstiftelse = Overdragelse | Heftelse | Rettsendring | Anmerkning | Matrikkelendring


@dataclass(frozen=True, slots=True)
class Dokument:
    """One document: its reference, its 0-based index in the message and its rettsstiftelser in order."""

    reference: str
    index: int
    rettsstiftelser: tuple[AnyRettsstiftelse, ...]


@dataclass(frozen=True, slots=True)
class Forsendelse:
    """A decoded submission. ``dokumenter`` are in the order of the message; ``rekkefoelge`` is the order the
    følgebrev gives; ``signatures`` maps a document reference to the identifiers that signed it (the
    innsender's identifier counts for every document, as the følgebrev's signature does)."""

    forsendelsesreferanse: str
    innsender: str
    dokumenter: tuple[Dokument, ...]
    rekkefoelge: tuple[str, ...]
    signatures: dict[str, frozenset[str]]
    signed: bool = False

    def signers(self, dokumentreferanse: str) -> frozenset[str]:
        return self.signatures.get(dokumentreferanse, frozenset()) | {self.innsender}

    def ordered(self) -> tuple[Dokument, ...]:
        """The documents in følgebrev order (documents the følgebrev leaves out come last)."""
        position = {ref: i for i, ref in enumerate(self.rekkefoelge)}
        return tuple(sorted(self.dokumenter, key=lambda d: position.get(d.reference, len(position) + d.index)))


@dataclass(frozen=True, slots=True)
class Tinglyst:
    """What registration gave one document: number, time, right numbers per rettsstiftelse reference and
    the units it touched."""

    dokumentreferanse: str
    number: DocumentNumber
    rights: tuple[tuple[str, int], ...]
    units: tuple[Registerenhet, ...]
