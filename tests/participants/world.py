"""The demo sale's participants wired together in memory: megler, both banks and Kartverket's handler.

Messages go straight from one simulator to the next (no broker), each opened with the hardened parser and
its sender's signature checked, so the simulators' whole conversation can be tested in well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from lxml import etree

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
from participants.cases import SaleCase, Timeline, demo_sale_case
from participants.kartverket.priority import register_priority
from participants.kartverket.register import LandRegister
from participants.kartverket.registration import handle_submission
from participants.megler.simulator import MeglerSimulator
from participants.messages.envelope import open_message

TODAY = date(2026, 11, 30)


def verifier_for(pki: TestPki) -> SignatureVerifier:
    return SignatureVerifier(TrustStore([pki.ca_certificate()]))


@dataclass
class World:
    sale: SaleCase
    megler: MeglerSimulator
    buyers_bank: BankSimulator
    sellers_bank: BankSimulator
    verifier: SignatureVerifier
    register: LandRegister | None
    pki: TestPki
    delivered: list[tuple[str, str, bytes]] = field(default_factory=list)

    async def deliver(self, messages: list[bytes], limit: int = 100) -> None:
        """Deliver messages and every reaction to them, breadth first, until nothing is left to send."""
        queue = list(messages)
        while queue:
            raw = queue.pop(0)
            root = etree.fromstring(raw)
            message_type = etree.QName(root).localname
            recipient = open_message(raw, self.verifier).header.recipient.orgnr
            self.delivered.append((message_type, recipient, raw))
            assert len(self.delivered) <= limit, "the conversation does not end"
            queue.extend(await self._receive(recipient, message_type, raw))

    async def _receive(self, recipient: str, message_type: str, raw: bytes) -> list[bytes]:
        if recipient == self.megler.organisation.orgnr:
            return await self.megler.handle_raw(raw)
        if recipient == self.buyers_bank.organisation.orgnr:
            return await self.buyers_bank.handle_raw(raw)
        if recipient == self.sellers_bank.organisation.orgnr:
            return await self.sellers_bank.handle_raw(raw)
        if recipient == self.sale.kartverket.orgnr and self.register is not None:
            credential = self.pki.credential(recipient)
            return await handle_submission(etree.fromstring(raw), self.verifier, self.register, credential)
        return []

    def types(self) -> list[str]:
        return [message_type for message_type, _, _ in self.delivered]

    def of_type(self, message_type: str) -> list[bytes]:
        return [raw for t, _, raw in self.delivered if t == message_type]


def build_world(pki: TestPki, register: LandRegister | None = None, auto_proceed: bool = True) -> World:
    sale = demo_sale_case(contract_date=TODAY)
    verifier = verifier_for(pki)
    timeline = Timeline()
    persons = {fnr: files.load() for fnr, files in pki.persons.items()}
    buyers = {p.fodselsnummer: persons[p.fodselsnummer] for p in sale.buyer_persons}
    sellers = {p.fodselsnummer: persons[p.fodselsnummer] for p in sale.seller_persons}
    megler = MeglerSimulator(
        sale.megler,
        pki.credential(sale.megler.orgnr),
        sellers,
        verifier,
        timeline,
        auto_proceed,
        lambda: TODAY,
        priority_lookup=register_priority(register) if register is not None else None,
    )
    megler.open_case(sale)
    buyers_bank = BankSimulator(
        sale.buyers_bank,
        pki.credential(sale.buyers_bank.orgnr),
        buyers_bank_book(sale),
        person_credentials=buyers,
        payoff_account=NORDLYS_PAYOFF_ACCOUNT,
        client_accounts={sale.megler.orgnr: MEGLER_CLIENT_ACCOUNT},
        verifier=verifier,
        timeline=timeline,
        auto_proceed=auto_proceed,
        today=lambda: TODAY,
    )
    sellers_bank = BankSimulator(
        sale.sellers_bank,
        pki.credential(sale.sellers_bank.orgnr),
        sellers_bank_book(sale, TODAY),
        payoff_account=FJELLKYSTEN_PAYOFF_ACCOUNT,
        verifier=verifier,
        timeline=timeline,
        auto_proceed=auto_proceed,
        today=lambda: TODAY,
    )
    return World(sale, megler, buyers_bank, sellers_bank, verifier, register, pki)
