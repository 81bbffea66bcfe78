"""The demo's participant systems built from one PKI: the megler, both banks and Kartverket.

Each system is exposed as a handler from received bytes to the messages it sends in answer, which is all a
runner needs, whether the system runs inside the demo process or as its own `dsve sim` process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from broker.config import XmlLimits
from broker.xml.parsing import parse_xml
from broker.xml.pki import TestPki
from broker.xml.trust import TrustStore
from broker.xml.verification import SignatureVerifier
from participants.bank.seed import (
    FJELLKYSTEN_PAYOFF_ACCOUNT,
    MEGLER_CLIENT_ACCOUNT,
    NORDLYS_PAYOFF_ACCOUNT,
    buyers_bank_book,
    sellers_bank_book,
)
from participants.bank.simulator import BankSimulator
from participants.cases import SaleCase, Timeline
from participants.kartverket.priority import register_priority
from participants.kartverket.register import LandRegister
from participants.kartverket.registration import handle_submission
from participants.megler.settlement import PriorityLookup
from participants.megler.simulator import MeglerSimulator
from participants.messages.envelope import open_message
from participants.runner import SystemHandler

FINANCING_APPROVED = "finansiering GODKJENT"


def verifier_for(pki: TestPki) -> SignatureVerifier:
    return SignatureVerifier(TrustStore([pki.ca_certificate()]))


def build_megler(
    pki: TestPki,
    sale: SaleCase,
    timeline: Timeline,
    today: Callable[[], date],
    priority_lookup: PriorityLookup | None = None,
) -> MeglerSimulator:
    """``priority_lookup`` reads the grunnbok; a megler without one cannot report the priority reached."""
    sellers = {p.fodselsnummer: pki.credential(p.fodselsnummer) for p in sale.seller_persons}
    return MeglerSimulator(
        sale.megler,
        pki.credential(sale.megler.orgnr),
        sellers,
        verifier_for(pki),
        timeline,
        True,
        today,
        priority_lookup=priority_lookup,
    )


def build_buyers_bank(pki: TestPki, sale: SaleCase, timeline: Timeline, today: Callable[[], date]) -> BankSimulator:
    buyers = {p.fodselsnummer: pki.credential(p.fodselsnummer) for p in sale.buyer_persons}
    return BankSimulator(
        sale.buyers_bank,
        pki.credential(sale.buyers_bank.orgnr),
        buyers_bank_book(sale),
        person_credentials=buyers,
        payoff_account=NORDLYS_PAYOFF_ACCOUNT,
        client_accounts={sale.megler.orgnr: MEGLER_CLIENT_ACCOUNT},
        verifier=verifier_for(pki),
        timeline=timeline,
        today=today,
    )


def build_sellers_bank(pki: TestPki, sale: SaleCase, timeline: Timeline, today: Callable[[], date]) -> BankSimulator:
    return BankSimulator(
        sale.sellers_bank,
        pki.credential(sale.sellers_bank.orgnr),
        sellers_bank_book(sale, today()),
        payoff_account=FJELLKYSTEN_PAYOFF_ACCOUNT,
        verifier=verifier_for(pki),
        timeline=timeline,
        today=today,
    )


def bank_handler(bank: BankSimulator) -> SystemHandler:
    """The bank's reactions, plus the step its customers set off: once the bidding round in which the bank
    approved their financing is over, the bank asks the megler whether the purchase can go digital."""

    async def handle(raw: bytes) -> list[bytes]:
        message = open_message(raw, bank.verifier)
        case = bank.case_for(message) if message.message_type == "finansieringAvsluttet" else None
        approved = case is not None and case.status == FINANCING_APPROVED
        replies = await bank.handle(message)
        if approved and case is not None:
            _, intention = bank.send_intention(case.megler, case.buyers, case.units, case.megler_reference)
            replies.append(intention)
        return replies

    return handle


def kartverket_handler(pki: TestPki, register: LandRegister, orgnr: str) -> SystemHandler:
    verifier = verifier_for(pki)
    credential = pki.credential(orgnr)
    limits = XmlLimits()

    async def handle(raw: bytes) -> list[bytes]:
        return await handle_submission(parse_xml(raw, limits), verifier, register, credential)

    return handle


@dataclass
class DemoSystems:
    """The four systems of the demo sale, sharing one timeline."""

    sale: SaleCase
    megler: MeglerSimulator
    buyers_bank: BankSimulator
    sellers_bank: BankSimulator
    register: LandRegister
    handlers: dict[str, SystemHandler]


def build_demo_systems(
    pki: TestPki, sale: SaleCase, register: LandRegister, timeline: Timeline, today: Callable[[], date] = date.today
) -> DemoSystems:
    megler = build_megler(pki, sale, timeline, today, register_priority(register))
    buyers_bank = build_buyers_bank(pki, sale, timeline, today)
    sellers_bank = build_sellers_bank(pki, sale, timeline, today)
    handlers = {
        sale.megler.orgnr: megler.handle_raw,
        sale.buyers_bank.orgnr: bank_handler(buyers_bank),
        sale.sellers_bank.orgnr: bank_handler(sellers_bank),
        sale.kartverket.orgnr: kartverket_handler(pki, register, sale.kartverket.orgnr),
    }
    return DemoSystems(sale, megler, buyers_bank, sellers_bank, register, handlers)
