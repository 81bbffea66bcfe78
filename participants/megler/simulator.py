"""The megler's side of the DSVE process, transport-agnostic: messages in, messages out.

It holds the sales it settles and drives each through the DSVE process's order: the financing check in the
bidding round, the debt request to the sellers' bank, the answer to the buyers' bank's intention, the
purchase contract, the mortgage deed and its receipt, payoff balance and deletion declaration, the deed and the
mortgage to Kartverket, the payoff and then the deletion, and the registration notices to both banks
(settlement.py). ``handle`` answers what arrives (and, with ``auto_proceed``, takes the next step); the
``send_*`` methods let a demo take each step itself.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta

from broker.domain.errors import Refusal
from broker.xml.keys import SigningCredential
from broker.xml.verification import SignatureVerifier
from participants.cases import SaleCase, Timeline, kroner
from participants.megler import routing
from participants.megler.case import DELETION, MORTGAGE, TRANSFER, MeglerCase
from participants.megler.settlement import PriorityLookup, on_forsendelsesstatus
from participants.messages import megler_messages as out
from participants.messages.envelope import ReceivedMessage, open_message
from participants.messages.header import Header, now_oslo
from participants.messages.model import (
    Eierskifte,
    Organisation,
    Pant,
    as_list,
    parties_from_data,
    units_from_data,
)
from participants.messages.package import REGISTER, PackageDocument, PresignedDocument, tinglysingsforsendelse

log = logging.getLogger(__name__)


class MeglerSimulator:
    def __init__(
        self,
        organisation: Organisation,
        credential: SigningCredential,
        person_credentials: Mapping[str, SigningCredential] | None = None,
        verifier: SignatureVerifier | None = None,
        timeline: Timeline | None = None,
        auto_proceed: bool = True,
        today: Callable[[], date] = date.today,
        priority_lookup: PriorityLookup | None = None,
    ) -> None:
        self.organisation = organisation
        self.credential = credential
        self.person_credentials = dict(person_credentials or {})
        self.verifier = verifier
        self.timeline = timeline or Timeline()
        self.auto_proceed = auto_proceed
        self.today = today
        self.priority_lookup = priority_lookup
        self.cases: dict[str, MeglerCase] = {}
        self._submissions = itertools.count(1)

    def _note(self, case: MeglerCase | str, text: str) -> None:
        reference = case.reference if isinstance(case, MeglerCase) else case
        self.timeline.add(self.organisation.name, reference, text)

    def open_case(self, sale: SaleCase) -> MeglerCase:
        case = MeglerCase(sale=sale)
        self.cases[sale.reference] = case
        self._note(case, f"oppretter oppgjør for {sale.unit} ({sale.address}), kjøpesum {kroner(sale.price)}")
        return case

    def _to_buyers_bank(self, case: MeglerCase) -> Header:
        return Header(self.organisation, case.sale.buyers_bank, case.reference, case.buyers_bank_reference)

    def _to_sellers_bank(self, case: MeglerCase) -> Header:
        return Header(self.organisation, case.sale.sellers_bank, case.reference, case.sellers_bank_reference)

    def _case_of(self, message: ReceivedMessage) -> MeglerCase | None:
        """Answers to our requests carry our reference as the recipient's reference."""
        reference = message.header.recipient_reference
        return self.cases.get(reference) if reference else None

    def _remember_bank_reference(self, case: MeglerCase, message: ReceivedMessage) -> None:
        sender = message.header.sender.orgnr
        if sender == case.sale.buyers_bank.orgnr:
            case.buyers_bank_reference = message.header.sender_reference
        elif sender == case.sale.sellers_bank.orgnr:
            case.sellers_bank_reference = message.header.sender_reference

    # ----- steps -----------------------------------------------------------------------------------------------

    def send_financing_check(self, case: MeglerCase, bid: int | None = None, deadline: datetime | None = None) -> bytes:
        bid = case.sale.price if bid is None else bid
        deadline = deadline or now_oslo() + timedelta(hours=2)
        case.status = "finansieringssjekk sendt"
        self._note(case, f"finansieringssjekk av bud {kroner(bid)} til {case.sale.buyers_bank.name}")
        return out.finansieringsforespoersel(
            self._to_buyers_bank(case), self.credential, case.sale.buyer_persons, bid, deadline, (case.sale.unit,)
        )

    def send_bidding_closed(self, case: MeglerCase) -> bytes:
        self._note(case, "budrunden er avsluttet")
        return out.finansiering_avsluttet(self._to_buyers_bank(case), self.credential, now_oslo())

    def send_debt_request(self, case: MeglerCase) -> bytes:
        case.status = "restgjeld etterspurt"
        self._note(case, f"ber {case.sale.sellers_bank.name} om restgjeld")
        return out.restgjeldsforespoersel(
            self._to_sellers_bank(case), self.credential, case.sale.seller_persons, (case.sale.unit,)
        )

    def send_payoff_request(self, case: MeglerCase, dates: Sequence[date] | None = None) -> bytes:
        dates = list(dates or [case.sale.takeover_date])
        case.status = "innfrielsessaldo etterspurt"
        self._note(case, f"ber om innfrielsessaldo per {', '.join(d.isoformat() for d in dates)}")
        return out.innfrielsessaldoforespoersel(self._to_sellers_bank(case), self.credential, case.loan_accounts, dates)

    def contract(self, case: MeglerCase) -> out.PurchaseContract:
        sale = case.sale
        return out.PurchaseContract(
            contract_date=sale.contract_date,
            price=sale.price,
            acceptance_date=sale.contract_date,
            takeover_date=sale.takeover_date,
            sellers=sale.sellers,
            buyers=sale.buyers,
            units=(sale.unit,),
            costs=sale.costs,
            address=sale.address,
        )

    def send_deed_package(self, case: MeglerCase, operation: str = REGISTER) -> bytes:
        """The transfer signed by the sellers and the buyers' mortgage, in that order. The sellers' bank's
        deletion follows in a package of its own once its loan is paid off (``send_deletion_package``)."""
        sale = case.sale
        if case.mortgage is None:
            raise ValueError(f"case {case.reference} has no mortgage deed yet")
        missing = [p for p in sale.seller_persons if p.fodselsnummer not in self.person_credentials]
        if missing:
            raise ValueError(f"no signing credential for {', '.join(map(str, missing))}")
        transfer = Eierskifte(
            element_id="eierskifte-1",
            unit=sale.unit,
            transferors=sale.sellers,
            acquirers=sale.buyers,
            price=sale.price,
            takeover=sale.takeover_date,
        )
        sellers = [self.person_credentials[p.fodselsnummer] for p in sale.seller_persons]
        documents = [
            PackageDocument.transfer(case.document_reference(TRANSFER), transfer, sellers),
            PackageDocument.received(case.document_reference(MORTGAGE), case.mortgage),
        ]
        return self._package(case, documents, operation)

    def send_deletion_package(self, case: MeglerCase, operation: str = REGISTER) -> bytes:
        """The sellers' bank's deletions, sent once the payoff of what they secured is paid."""
        documents = [
            PackageDocument.received(case.document_reference(DELETION, n), d) for n, d in enumerate(case.deletions, 1)
        ]
        return self._package(case, documents, operation)

    def _package(self, case: MeglerCase, documents: list[PackageDocument], operation: str) -> bytes:
        case.submissions += 1
        case.submission_reference = f"{case.reference}-T{case.submissions}"
        case.status = "sendt til tinglysing"
        self._note(
            case,
            f"sender tinglysingsforsendelse {case.submission_reference} ({operation}) med {len(documents)} dokumenter",
        )
        header = Header(self.organisation, case.sale.kartverket, case.reference)
        return tinglysingsforsendelse(header, self.credential, case.submission_reference, documents, operation)

    # ----- reactions -------------------------------------------------------------------------------------------

    async def handle_raw(self, raw: bytes) -> list[bytes]:
        return await self.handle(open_message(raw, self.verifier))

    async def handle(self, message: ReceivedMessage) -> list[bytes]:
        if message.message_type == "forsendelsesstatus":
            return await on_forsendelsesstatus(self, message)
        handler: Callable[[ReceivedMessage], list[bytes]] | None = getattr(self, f"_on_{message.message_type}", None)
        if handler is None:
            self._note(message.header.sender_reference, f"ignorerer {message.message_type}: ikke en meglermelding")
            return []
        return handler(message)

    def _on_finansieringssvar(self, message: ReceivedMessage) -> list[bytes]:
        case = self._case_of(message)
        if case is None:
            return []
        self._remember_bank_reference(case, message)
        case.financing_result = str(message.body["resultat"])
        self._note(case, f"finansieringssvar: {case.financing_result}")
        if self.auto_proceed and case.financing_result == "GODKJENT":
            return [self.send_bidding_closed(case), self.send_debt_request(case)]
        return []

    def _on_restgjeldssvar(self, message: ReceivedMessage) -> list[bytes]:
        case = self._case_of(message)
        if case is None:
            return []
        self._remember_bank_reference(case, message)
        loans = as_list(message.body.get("laan"))
        case.loan_accounts = tuple(str(loan["kontonummer"]) for loan in loans)
        case.debt_answered = True
        total = sum(int(loan["restgjeld"]) for loan in loans)
        self._note(case, f"restgjeld: {len(loans)} lån, {kroner(total)}")
        return self._next_settlement_step(case)

    def _on_intensjonFraBank(self, message: ReceivedMessage) -> list[bytes]:
        buyers = parties_from_data(message.body["kjoepere"])
        units = units_from_data(message.body["registerenheter"])
        method = str(message.body["tinglysingsmetode"])
        decision = routing.route_intention(self.cases.values(), buyers, units, method)
        header = message.header.reply(own_reference=decision.case.reference if decision.case else None)
        answer = out.IntentionAnswer(status=decision.status, description=decision.description)
        if decision.case is not None:
            case = decision.case
            self._remember_bank_reference(case, message)
            header = Header(self.organisation, message.header.sender, case.reference, message.header.sender_reference)
            if decision.routed:
                sale = case.sale
                answer = out.IntentionAnswer(
                    decision.status, decision.description, tuple(s.party for s in sale.buyers), (sale.unit,), method
                )
        self._note(
            decision.case or message.header.sender_reference,
            f"intensjon fra {message.header.sender.name}: {decision.status}",
        )
        return [out.intensjonssvar_fra_megler(header, self.credential, answer)]

    def _on_kjoepekontraktforespoersel(self, message: ReceivedMessage) -> list[bytes]:
        buyers = parties_from_data(message.body["kjoepere"])
        units = units_from_data(message.body.get("registerenheter") or {}) or tuple(
            c.sale.unit for c in self.cases.values()
        )
        decision = routing.route_intention(self.cases.values(), buyers, units, "elektronisk")
        if not decision.routed or decision.case is None:
            self._note(message.header.sender_reference, f"kontraktforespørsel uten sak: {decision.description}")
            return []
        case = decision.case
        self._remember_bank_reference(case, message)
        self._note(case, "sender kjøpekontrakt")
        header = Header(self.organisation, message.header.sender, case.reference, message.header.sender_reference)
        return [out.kjoepekontraktsvar(header, self.credential, self.contract(case))]

    def _on_pantedokument(self, message: ReceivedMessage) -> list[bytes]:
        pant = Pant.from_data(message.body["pant"])
        decision = routing.route_mortgage(self.cases.values(), pant)
        if decision.routed and self.verifier is not None:
            decision = self._check_mortgagor_signatures(message, pant, decision)
        case = decision.case
        own_reference = case.reference if case is not None else None
        header = message.header.reply(own_reference=own_reference)
        self._note(
            case or message.header.sender_reference,
            f"pantedokument fra {message.header.sender.name}: {decision.status}",
        )
        replies = [out.pantedokument_kvittering(header, self.credential, decision.status, decision.description)]
        if decision.routed and case is not None:
            self._remember_bank_reference(case, message)
            case.mortgage = PresignedDocument.from_message(message, "pant")
            replies += self._next_settlement_step(case)
        return replies

    def _check_mortgagor_signatures(
        self, message: ReceivedMessage, pant: Pant, decision: routing.RoutingDecision
    ) -> routing.RoutingDecision:
        if self.verifier is None:
            return decision
        try:
            signers = self.verifier.verify_inner(message.root, pant.element_id)
        except Refusal as exc:
            return routing.RoutingDecision(
                routing.REFUSED, f"Signaturene på pantedokumentet holder ikke: {exc}", decision.case
            )
        signed = {s.fodselsnummer for s in signers}
        unsigned = [p for p in pant.mortgagors if p.fodselsnummer not in signed]
        if unsigned:
            names = ", ".join(p.name for p in unsigned)
            return routing.RoutingDecision(
                routing.REFUSED, f"Pantedokumentet mangler signatur fra {names}.", decision.case
            )
        return decision

    def _on_innfrielsessaldosvar(self, message: ReceivedMessage) -> list[bytes]:
        case = self._case_of(message)
        if case is None:
            return []
        balances = as_list(message.body["innfrielsessaldoer"]["innfrielsessaldo"])
        case.payoff_amount = int(balances[-1]["saldo"])
        self._note(case, f"innfrielsessaldo {kroner(case.payoff_amount)} per {balances[-1]['dato']}")
        return []

    def _on_slettingserklaering(self, message: ReceivedMessage) -> list[bytes]:
        case = self._case_of(message)
        if case is None:
            return []
        problem = self._deletion_signature_problem(message)
        if problem:
            self._note(case, f"slettingserklæring avvist: {problem}")
            return []
        case.deletions.append(PresignedDocument.from_message(message, "sletting"))
        self._note(case, f"slettingserklæring mottatt; innfrielse {kroner(int(message.body['innfrielsesbeloep']))}")
        return self._next_settlement_step(case)

    def _deletion_signature_problem(self, message: ReceivedMessage) -> str | None:
        """A deletion consent counts only when the bank that holds the mortgage signed it; the megler checks
        that now rather than learn it from Kartverket's refusal of the whole package."""
        if self.verifier is None:
            return None
        element_id = message.document("sletting").get("Id")
        if element_id is None:
            return "slettingen har ingen Id å vise signaturen til"
        try:
            signers = self.verifier.verify_inner(message.root, element_id)
        except Refusal as exc:
            return f"signaturen holder ikke: {exc}"
        if message.header.sender.orgnr not in {s.orgnr for s in signers}:
            return f"den er ikke signert av {message.header.sender.name}"
        return None

    def _next_settlement_step(self, case: MeglerCase) -> list[bytes]:
        """Once the deed is in: ask for the payoff balance, and once the deletion is in too: register."""
        if not self.auto_proceed or case.mortgage is None or not case.debt_answered:
            return []
        if case.loan_accounts and not case.deletions:
            if case.status == "innfrielsessaldo etterspurt":
                return []
            return [self.send_payoff_request(case)]
        if case.ready_for_registration and case.submissions == 0:
            return [self.send_deed_package(case)]
        return []

    def send_cancellation(self, case: MeglerCase, reason: str) -> bytes:
        """The case leaves digital cooperation; the buyers' bank is told why."""
        case.status = "avbrutt"
        self._note(case, f"avbryter samhandlingen: {reason}")
        return out.avbrutt_samhandling(self._to_buyers_bank(case), self.credential, reason)
