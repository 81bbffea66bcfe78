"""The facts of one property sale as the bank and megler simulators share them.

``demo_sale_case`` reads the land register's demo sale (``participants.kartverket.seed.DEMO_SALE``), so the
megler's case, the banks' loan books and Kartverket's register agree on the same people, unit and mortgage.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from participants.kartverket import model as register_model
from participants.kartverket.seed import DEMO_SALE
from participants.messages.model import (
    Borettslagsandel,
    Matrikkelenhet,
    Organisation,
    Party,
    Person,
    Registerenhet,
    RightReference,
    Share,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SaleCase:
    """One sale: unit, parties with shares, price, dates, both banks and the sellers' mortgage to delete."""

    reference: str
    unit: Registerenhet
    address: str
    sellers: tuple[Share, ...]
    buyers: tuple[Share, ...]
    price: int
    megler: Organisation
    buyers_bank: Organisation
    sellers_bank: Organisation
    kartverket: Organisation
    contract_date: date
    takeover_date: date
    new_mortgage_amount: int
    existing_mortgage: RightReference | None = None
    existing_mortgage_amount: int | None = None
    costs: tuple[tuple[str, int], ...] = field(default=())

    @property
    def seller_persons(self) -> tuple[Person, ...]:
        return tuple(s.party for s in self.sellers if isinstance(s.party, Person))

    @property
    def buyer_persons(self) -> tuple[Person, ...]:
        return tuple(s.party for s in self.buyers if isinstance(s.party, Person))

    @property
    def document_duty(self) -> int:
        """Dokumentavgift, 2.5 % of the price for a freehold unit; cooperative shares pay none."""
        return 0 if isinstance(self.unit, Borettslagsandel) else self.price * 25 // 1000


def kroner(amount: int) -> str:
    """An amount as Norwegians write it: ``6 450 000 kr``."""
    return f"{amount:,} kr".replace(",", "\u00a0")


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """One line of a case's timeline, as a simulator records it and a demo prints it."""

    at: datetime
    actor: str
    case_reference: str
    text: str

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.actor:<26} [{self.case_reference}] {self.text}"


class Timeline:
    """What a simulator did, in order; shared between simulators when a demo wants one story."""

    def __init__(self) -> None:
        self.events: list[CaseEvent] = []

    def add(self, actor: str, case_reference: str, text: str) -> CaseEvent:
        event = CaseEvent(datetime.now(UTC), actor, case_reference, text)
        self.events.append(event)
        log.info("%s", event)
        return event

    def for_case(self, case_reference: str) -> list[CaseEvent]:
        return [e for e in self.events if e.case_reference == case_reference]


def _party(party: register_model.Party) -> Party:
    if party.kind is register_model.PartyKind.PERSON:
        return Person(party.ident, party.name)
    return Organisation(party.ident, party.name)


def _organisation(party: register_model.Party) -> Organisation:
    return Organisation(party.ident, party.name)


def _share(share: register_model.Share) -> Share:
    return Share(_party(share.holder), Fraction(share.teller, share.nevner))


def _unit(unit: register_model.Registerenhet) -> Registerenhet:
    if isinstance(unit, register_model.Borettslagsandel):
        return Borettslagsandel(unit.orgnr, unit.andelsnummer)
    return Matrikkelenhet(
        unit.kommunenummer, unit.gaardsnummer, unit.bruksnummer, unit.festenummer, unit.seksjonsnummer
    )


def demo_sale_case(reference: str = "OPPGJ-2026-0412", contract_date: date | None = None) -> SaleCase:
    """The demo transaction: the flat at 0301-208/47 sold by Per and Ingrid Hansen to Kari and Ola Nordmann."""
    signed = contract_date or date.today()
    mortgage = DEMO_SALE.existing_mortgage
    case = SaleCase(
        reference=reference,
        unit=_unit(DEMO_SALE.unit),
        address=DEMO_SALE.address,
        sellers=tuple(_share(s) for s in DEMO_SALE.sellers),
        buyers=tuple(_share(s) for s in DEMO_SALE.buyers),
        price=DEMO_SALE.kjoepesum,
        megler=_organisation(DEMO_SALE.megler),
        buyers_bank=_organisation(DEMO_SALE.buyers_bank),
        sellers_bank=_organisation(DEMO_SALE.sellers_bank),
        kartverket=_organisation(DEMO_SALE.kartverket),
        contract_date=signed,
        takeover_date=signed + timedelta(days=42),
        new_mortgage_amount=DEMO_SALE.new_mortgage_beloep,
        existing_mortgage=RightReference(
            mortgage.document.year, mortgage.document.number, mortgage.document.embete, mortgage.rettsstiftelsesnummer
        ),
        existing_mortgage_amount=DEMO_SALE.existing_mortgage_beloep,
    )
    return replace(case, costs=(("Dokumentavgift", case.document_duty), ("Tinglysingsgebyr skjøte", 585)))
