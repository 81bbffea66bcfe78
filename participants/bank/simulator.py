"""The bank's side of the DSVE process, transport-agnostic: messages in, messages out.

``handle`` takes one received message and answers the messages the bank sends in reaction (answers to
requests always; the next step of its own cases when ``auto_proceed`` is on). The step methods
(``send_intention``, ``send_contract_request``, ``send_mortgage_deed``) let a demo drive the process by hand.
The SDK (AMQP consumer or HTTP polling) delivers the messages and submits what comes back.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from broker.domain.identifiers import is_valid_fodselsnummer
from broker.xml.keys import SigningCredential
from broker.xml.verification import SignatureVerifier
from participants.bank.loan_book import LoanBook
from participants.cases import Timeline, kroner
from participants.messages import bank_messages as out
from participants.messages.envelope import ReceivedMessage, open_message
from participants.messages.header import Header
from participants.messages.megler_messages import PurchaseContract
from participants.messages.model import (
    Organisation,
    Pant,
    Person,
    RegisteredDocument,
    Registerenhet,
    RightReference,
    Sletting,
    as_list,
    parties_from_data,
    unit_from_data,
    units_from_data,
)

log = logging.getLogger(__name__)

DONE = "ferdig"
CANCELLED = "avbrutt"


@dataclass(slots=True)
class BankCase:
    """The bank's record of one case with one megler."""

    reference: str
    megler: Organisation
    megler_reference: str | None
    buyers: tuple[Person, ...] = ()
    units: tuple[Registerenhet, ...] = ()
    loan_amount: int | None = None
    status: str = "opprettet"
    contract: PurchaseContract | None = None
    mortgage_registered: RegisteredDocument | None = None
    priority_reached: RightReference | None = None
    payoff_accounts: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    def header_to_megler(self, bank: Organisation) -> Header:
        return Header(bank, self.megler, self.reference, self.megler_reference)


class BankSimulator:
    def __init__(
        self,
        organisation: Organisation,
        credential: SigningCredential,
        loan_book: LoanBook,
        person_credentials: Mapping[str, SigningCredential] | None = None,
        payoff_account: str = "",
        client_accounts: Mapping[str, str] | None = None,
        verifier: SignatureVerifier | None = None,
        timeline: Timeline | None = None,
        auto_proceed: bool = True,
        today: Callable[[], date] = date.today,
        reference_prefix: str | None = None,
    ) -> None:
        self.organisation = organisation
        self.credential = credential
        self.book = loan_book
        self.person_credentials = dict(person_credentials or {})
        self.payoff_account = payoff_account
        self.client_accounts = dict(client_accounts or {})
        self.verifier = verifier
        self.timeline = timeline or Timeline()
        self.auto_proceed = auto_proceed
        self.today = today
        self.cases: dict[str, BankCase] = {}
        prefix = reference_prefix or "".join(word[0] for word in organisation.name.split()[:3]).upper()
        self._references = (f"{prefix}-{today().year}-{n:05d}" for n in itertools.count(1))

    # ----- bookkeeping -------------------------------------------------------------------------------------

    def _note(self, case: BankCase | str, text: str) -> None:
        reference = case.reference if isinstance(case, BankCase) else case
        self.timeline.add(self.organisation.name, reference, text)

    def new_case(self, megler: Organisation, megler_reference: str | None) -> BankCase:
        case = BankCase(reference=next(self._references), megler=megler, megler_reference=megler_reference)
        self.cases[case.reference] = case
        return case

    def case_for(self, message: ReceivedMessage) -> BankCase:
        """The case a message belongs to: by our own reference, then by the megler's, else a new one."""
        header = message.header
        if header.recipient_reference and header.recipient_reference in self.cases:
            case = self.cases[header.recipient_reference]
        else:
            case = next(
                (
                    c
                    for c in self.cases.values()
                    if c.megler.orgnr == header.sender.orgnr and c.megler_reference == header.sender_reference
                ),
                None,
            ) or self.new_case(header.sender, header.sender_reference)
        if case.megler_reference is None:
            case.megler_reference = header.sender_reference
        return case

    def _existing_case(
        self,
        megler: Organisation,
        megler_reference: str | None,
        buyers: Sequence[Person],
        units: Sequence[Registerenhet],
    ) -> BankCase | None:
        people = {p.fodselsnummer for p in buyers}
        keys = {u.key for u in units}
        for case in self.cases.values():
            if case.megler.orgnr != megler.orgnr or case.status in {DONE, CANCELLED}:
                continue
            if megler_reference and case.megler_reference == megler_reference:
                return case
            if people & {p.fodselsnummer for p in case.buyers} and keys & {u.key for u in case.units}:
                return case
        return None

    def _reply(self, case: BankCase, message: ReceivedMessage) -> Header:
        return message.header.reply(own_reference=case.reference)

    # ----- steps the bank takes on its own -----------------------------------------------------------------

    def send_intention(
        self,
        megler: Organisation,
        buyers: Sequence[Person],
        units: Sequence[Registerenhet],
        megler_reference: str | None = None,
        method: str = out.ELECTRONIC,
    ) -> tuple[BankCase, bytes]:
        """Ask the megler whether a financed purchase can be handled digitally.

        A case the megler opened with us already (a financing check for the same buyers and units) is reused,
        so one purchase is one case at the bank.
        """
        case = self._existing_case(megler, megler_reference, buyers, units) or self.new_case(megler, megler_reference)
        case.buyers, case.units = tuple(buyers), tuple(units)
        approval = self.book.approval_for(p.fodselsnummer for p in buyers)
        case.loan_amount = approval.loan_amount if approval else None
        case.status = "intensjon sendt"
        self._note(case, f"sender intensjon til {megler.name} for {', '.join(map(str, units))}")
        return case, out.intensjon_fra_bank(
            case.header_to_megler(self.organisation), self.credential, buyers, units, method
        )

    def send_contract_request(self, case: BankCase) -> bytes:
        case.status = "kontrakt etterspurt"
        self._note(case, "ber om kjøpekontrakten")
        return out.kjoepekontraktforespoersel(
            case.header_to_megler(self.organisation), self.credential, case.buyers, case.units
        )

    def send_mortgage_deed(self, case: BankCase) -> bytes:
        """The buyers' mortgage deed, signed by each buyer (their personal certificates) and by the bank."""
        if case.loan_amount is None:
            raise ValueError(f"case {case.reference} has no approved loan")
        missing = [p for p in case.buyers if p.fodselsnummer not in self.person_credentials]
        if missing:
            raise ValueError(f"no signing credential for {', '.join(map(str, missing))}")
        pant = Pant(
            element_id="pant-1",
            mortgagee=self.organisation,
            mortgagors=case.buyers,
            amount=case.loan_amount,
            units=case.units,
            priority=1,
        )
        conditions = None
        client_account = self.client_accounts.get(case.megler.orgnr)
        if client_account:
            deadline = case.contract.takeover_date if case.contract else self.today() + timedelta(days=30)
            conditions = out.ConditionsLetter(
                amount=case.loan_amount,
                account=client_account,
                deadline=deadline,
                kid=None,
                conditions=("Pantedokumentet skal tinglyses med 1. prioritet innen fristen.",),
            )
        signers = [self.person_credentials[p.fodselsnummer] for p in case.buyers]
        case.status = "pantedokument sendt"
        self._note(case, f"sender pantedokument på {kroner(case.loan_amount)} signert av {len(signers)} pantsettere")
        return out.pantedokument(case.header_to_megler(self.organisation), self.credential, pant, signers, conditions)

    # ----- reactions -----------------------------------------------------------------------------------------

    async def handle_raw(self, raw: bytes) -> list[bytes]:
        """Open (hardened parse, signature check when a verifier is set) and handle one received message."""
        return await self.handle(open_message(raw, self.verifier))

    async def handle(self, message: ReceivedMessage) -> list[bytes]:
        handler: Callable[[ReceivedMessage], list[bytes]] | None = getattr(self, f"_on_{message.message_type}", None)
        if handler is None:
            self._note(message.header.sender_reference, f"ignorerer {message.message_type}: ikke en bankmelding")
            return []
        return handler(message)

    def _on_intensjonssvarFraMegler(self, message: ReceivedMessage) -> list[bytes]:
        case = self.case_for(message)
        status = message.body["status"]
        case.status = f"intensjonssvar {status}"
        self._note(case, f"intensjonssvar fra megler: {status}")
        if status == "RutetSuksessfullt" and self.auto_proceed:
            return [self.send_contract_request(case)]
        return []

    def _on_kjoepekontraktsvar(self, message: ReceivedMessage) -> list[bytes]:
        case = self.case_for(message)
        contract = PurchaseContract.from_data(message.body["kjoepekontrakt"])
        case.contract = contract
        if not case.buyers:
            case.buyers = tuple(s.party for s in contract.buyers if isinstance(s.party, Person))
        if not case.units:
            case.units = contract.units
        if case.loan_amount is None:
            approval = self.book.approval_for(p.fodselsnummer for p in case.buyers)
            case.loan_amount = approval.loan_amount if approval else None
        self._note(
            case, f"mottok kjøpekontrakt: kjøpesum {kroner(contract.price)}, overtakelse {contract.takeover_date}"
        )
        if self.auto_proceed and case.loan_amount is not None and case.status != "pantedokument sendt":
            return [self.send_mortgage_deed(case)]
        return []

    def _on_kjoepekontraktendring(self, message: ReceivedMessage) -> list[bytes]:
        case = self.case_for(message)
        case.contract = PurchaseContract.from_data(message.body["kjoepekontrakt"])
        change = message.body.get("endringsbeskrivelse") or "uten beskrivelse"
        self._note(case, f"mottok endret kjøpekontrakt ({change})")
        return []

    def _on_pantedokumentKvittering(self, message: ReceivedMessage) -> list[bytes]:
        case = self.case_for(message)
        status = message.body["status"]
        case.status = f"pantedokument {status}"
        self._note(case, f"kvittering for pantedokument: {status} – {message.body['beskrivelse']}")
        return []

    def _on_finansieringsforespoersel(self, message: ReceivedMessage) -> list[bytes]:
        case = self.case_for(message)
        bidders = [Person.from_data(p) for p in as_list(message.body["budgivere"]["person"])]
        bid = int(message.body["budbeloep"])
        case.buyers = tuple(bidders)
        case.units = units_from_data(message.body["registerenheter"])
        valid = [b.fodselsnummer for b in bidders if is_valid_fodselsnummer(b.fodselsnummer)]
        decision = self.book.financing_decision(valid, bid)
        case.status = f"finansiering {decision.result}"
        self._note(case, f"finansieringssjekk for bud {kroner(bid)}: {decision.result}")
        return [
            out.finansieringssvar(self._reply(case, message), self.credential, decision.result, decision.description)
        ]

    def _on_finansieringAvsluttet(self, message: ReceivedMessage) -> list[bytes]:
        case = self.case_for(message)
        case.status = "budrunde avsluttet"
        self._note(case, "budrunden er avsluttet")
        return []

    def _on_restgjeldsforespoersel(self, message: ReceivedMessage) -> list[bytes]:
        case = self.case_for(message)
        sellers = [p.fodselsnummer for p in parties_from_data(message.body["selgere"]) if isinstance(p, Person)]
        units = units_from_data(message.body["registerenheter"])
        case.units = units
        today = self.today()
        loans = self.book.loans_secured_on(units, sellers)
        balances = [out.LoanBalance(loan.account, loan.balance_on(today), today) for loan in loans]
        encumbrances = list(
            {loan.mortgage: out.Encumbrance(loan.unit, loan.mortgage, loan.mortgage_amount) for loan in loans}.values()
        )
        case.payoff_accounts = tuple(loan.account for loan in loans)
        note = None if loans else "Banken har ingen lån med pant i registerenhetene for disse selgerne."
        case.status = "restgjeld oppgitt"
        self._note(case, f"oppgir restgjeld: {len(loans)} lån, {kroner(sum(b.balance for b in balances))}")
        return [out.restgjeldssvar(self._reply(case, message), self.credential, balances, encumbrances, note)]

    def _on_innfrielsessaldoforespoersel(self, message: ReceivedMessage) -> list[bytes]:
        case = self.case_for(message)
        accounts = [str(a) for a in as_list(message.body["laanekontoer"]["kontonummer"])]
        dates = sorted(date.fromisoformat(str(d)) for d in as_list(message.body["innfrielsesdatoer"]["dato"]))
        loans = self.book.loans_by_account(accounts)
        if not loans:
            self._note(case, "innfrielsessaldo etterspurt for ukjente lånekontoer; ingen svar")
            return []
        known = [loan.account for loan in loans]
        balances = [(d, self.book.payoff_balance(known, d)) for d in dates]
        payment = out.Payment(self.payoff_account, kid=known[0])
        header = self._reply(case, message)
        case.payoff_accounts = tuple(known)
        case.status = "innfrielsessaldo oppgitt"
        self._note(case, "oppgir innfrielsessaldo: " + ", ".join(f"{d}: {kroner(b)}" for d, b in balances))
        replies = [out.innfrielsessaldosvar(header, self.credential, known, balances, payment)]
        # The deletion declaration for the settlement date (the last date asked), usable once that sum is in.
        settlement_date, payoff = balances[-1]
        for position, loan in enumerate(list({loan.mortgage: loan for loan in loans}.values()), start=1):
            sletting = Sletting(
                element_id=f"sletting-{position}", unit=loan.unit, right=loan.mortgage, holder=self.organisation
            )
            declaration_header = Header(
                header.sender, header.recipient, header.sender_reference, header.recipient_reference
            )
            replies.append(out.slettingserklaering(declaration_header, self.credential, sletting, payoff, payment))
            self._note(
                case,
                f"sender slettingserklæring for {loan.mortgage}: innfrielse {kroner(payoff)} per {settlement_date}",
            )
        return replies

    def _on_gjennomfoertTinglysing(self, message: ReceivedMessage) -> list[bytes]:
        """Registered: for the buyers' bank its mortgage (priority follows); for the sellers' bank the deletion,
        which means the payoff was used and the loans are closed."""
        case = self.case_for(message)
        documents = [RegisteredDocument.from_data(d) for d in as_list(message.body["tinglystDokument"])]
        numbers = ", ".join(f"{d.year}/{d.document_number}" for d in documents)
        self._note(case, f"tinglysing gjennomført: dokument {numbers}")
        if case.payoff_accounts:
            closed = self.book.repay(case.payoff_accounts)
            case.status = DONE
            self._note(case, f"{len(closed)} lån innfridd og pant slettet; saken er ferdig")
        else:
            case.mortgage_registered = documents[0] if documents else None
            case.status = "tinglyst"
        return []

    def _on_oppnaaddPrioritet(self, message: ReceivedMessage) -> list[bytes]:
        case = self.case_for(message)
        right = RightReference.from_data(message.body["rettsstiftelse"])
        unit = unit_from_data(message.body["registerenhet"])
        case.priority_reached = right
        case.status = DONE
        self._note(case, f"pant {right} på {unit} har oppnådd avtalt prioritet; saken er ferdig")
        return []

    def _on_avbruttSamhandling(self, message: ReceivedMessage) -> list[bytes]:
        case = self.case_for(message)
        case.status = CANCELLED
        self._note(case, f"samhandlingen er avbrutt: {message.body['aarsak']}")
        return []

    def _on_intensjonsendring(self, message: ReceivedMessage) -> list[bytes]:
        case = self.case_for(message)
        self._note(case, f"megler endrer tinglysingsmetode til {message.body['tinglysingsmetode']}")
        return []
