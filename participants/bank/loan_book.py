"""A bank's loan book: customers, approved financing, loans with their mortgages, and the rules on them.

Pure data and arithmetic, no messages: the simulator asks the book and turns answers into messages, so
the financing rule and the payoff interest can be tested on their own.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from broker.domain.identifiers import is_valid_account_number, mask_fodselsnummer
from participants.messages.model import Registerenhet, RightReference

DAYS_PER_YEAR = Decimal(365)
# A bid this far above the approved limit is not refused outright: the bank calls the customer first.
CONTACT_MARGIN = Decimal("0.05")


class FinancingResult(enum.StrEnum):
    GODKJENT = "GODKJENT"
    IKKE_GODKJENT = "IKKE_GODKJENT"
    KUNDEKONTAKT = "KUNDEKONTAKT"
    MANUELL = "MANUELL"


@dataclass(frozen=True, slots=True)
class FinancingDecision:
    result: FinancingResult
    description: str


@dataclass(frozen=True, slots=True)
class Customer:
    fodselsnummer: str = field(repr=False)
    name: str

    def __str__(self) -> str:
        return f"{self.name} ({mask_fodselsnummer(self.fodselsnummer)})"


@dataclass(frozen=True, slots=True)
class FinancingApproval:
    """A financing certificate (finansieringsbevis): the highest price the applicants may bid, and the loan."""

    applicants: frozenset[str] = field(repr=False)
    purchase_limit: int
    loan_amount: int
    certificate: str


@dataclass(frozen=True, slots=True)
class Loan:
    """A loan with its balance on ``balance_date``; interest runs daily from there at ``annual_rate``."""

    account: str
    borrowers: frozenset[str] = field(repr=False)
    balance: int
    balance_date: date
    annual_rate: Decimal
    unit: Registerenhet
    mortgage: RightReference
    mortgage_amount: int

    def __post_init__(self) -> None:
        if not is_valid_account_number(self.account):
            raise ValueError(f"loan account {self.account} has no valid check digit")

    def balance_on(self, day: date) -> int:
        """The payoff balance on ``day``: the balance plus simple daily interest (actual/365), whole kroner."""
        days = (day - self.balance_date).days
        if days < 0:
            raise ValueError(f"no balance before {self.balance_date.isoformat()}")
        interest = Decimal(self.balance) * self.annual_rate * days / DAYS_PER_YEAR
        return self.balance + int(interest.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(slots=True)
class LoanBook:
    customers: dict[str, Customer] = field(default_factory=dict)
    approvals: list[FinancingApproval] = field(default_factory=list)
    loans: list[Loan] = field(default_factory=list)

    def add_customer(self, fodselsnummer: str, name: str) -> Customer:
        customer = Customer(fodselsnummer, name)
        self.customers[fodselsnummer] = customer
        return customer

    def approval_for(self, persons: Iterable[str]) -> FinancingApproval | None:
        """The approval that covers these persons: the one naming most of them, the larger limit on a tie."""
        wanted = frozenset(persons)
        best = max(
            (a for a in self.approvals if a.applicants & wanted),
            key=lambda a: (len(a.applicants & wanted), a.purchase_limit),
            default=None,
        )
        return best

    def financing_decision(self, bidders: Iterable[str], bid: int) -> FinancingDecision:
        """Answer a financing check: the bid against the bidders' approved purchase limit."""
        bidders = list(bidders)
        if not any(b in self.customers for b in bidders):
            return FinancingDecision(
                FinancingResult.MANUELL, "Budgiver er ikke kunde i banken; saken behandles manuelt."
            )
        approval = self.approval_for(bidders)
        if approval is None:
            return FinancingDecision(FinancingResult.IKKE_GODKJENT, "Budgiver har ikke godkjent finansiering.")
        if bid <= approval.purchase_limit:
            return FinancingDecision(
                FinancingResult.GODKJENT, f"Budet er innenfor finansieringsbevis {approval.certificate}."
            )
        if Decimal(bid) <= Decimal(approval.purchase_limit) * (1 + CONTACT_MARGIN):
            return FinancingDecision(
                FinancingResult.KUNDEKONTAKT,
                f"Budet er inntil 5 % over finansieringsbevis {approval.certificate}; banken kontakter kunden.",
            )
        return FinancingDecision(
            FinancingResult.IKKE_GODKJENT, f"Budet er over rammen i finansieringsbevis {approval.certificate}."
        )

    def loans_secured_on(self, units: Iterable[Registerenhet], borrowers: Iterable[str]) -> list[Loan]:
        """Loans secured on any of the units and owed by any of the borrowers: what a sale must pay off."""
        keys = {u.key for u in units}
        people = set(borrowers)
        return [loan for loan in self.loans if loan.unit.key in keys and loan.borrowers & people]

    def loans_by_account(self, accounts: Iterable[str]) -> list[Loan]:
        wanted = set(accounts)
        return [loan for loan in self.loans if loan.account in wanted]

    def payoff_balance(self, accounts: Iterable[str], day: date) -> int:
        return sum(loan.balance_on(day) for loan in self.loans_by_account(accounts))

    def repay(self, accounts: Iterable[str]) -> list[Loan]:
        """Close the loans once the payoff has arrived; answers the loans closed."""
        closed = self.loans_by_account(accounts)
        self.loans = [loan for loan in self.loans if loan not in closed]
        return closed
