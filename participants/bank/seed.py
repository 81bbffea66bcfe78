"""The demo banks' loan books, built from the demo sale so they agree with the megler and the land register.

Nordlys Sparebank (the buyers' bank) has approved Kari and Ola Nordmann's financing; Fjellkysten Bank (the
sellers' bank) holds Per and Ingrid Hansen's loan secured by the mortgage the sale deletes.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from participants.bank.loan_book import FinancingApproval, Loan, LoanBook
from participants.cases import SaleCase

# Valid demo account numbers (mod 11): the banks' payoff accounts, the sellers' loan and the megler's
# client account that the buyers' bank pays the loan into.
NORDLYS_PAYOFF_ACCOUNT = "91000313373"
FJELLKYSTEN_PAYOFF_ACCOUNT = "92000047114"
SELLERS_LOAN_ACCOUNT = "92000047122"
MEGLER_CLIENT_ACCOUNT = "15031000006"

SELLERS_LOAN_RATE = Decimal("0.0525")
# The sellers have paid down part of the mortgage amount over the years.
SELLERS_LOAN_BALANCE = 2_734_512


def buyers_bank_book(case: SaleCase, headroom: int = 150_000) -> LoanBook:
    """Customers are the buyers, approved to bid up to the price plus ``headroom`` with the case's loan."""
    book = LoanBook()
    for person in case.buyer_persons:
        book.add_customer(person.fodselsnummer, person.name)
    book.approvals.append(
        FinancingApproval(
            applicants=frozenset(p.fodselsnummer for p in case.buyer_persons),
            purchase_limit=case.price + headroom,
            loan_amount=case.new_mortgage_amount,
            certificate=f"FB-{case.reference}",
        )
    )
    return book


def sellers_bank_book(case: SaleCase, today: date) -> LoanBook:
    """Customers are the sellers, with one loan secured by the existing mortgage on the unit sold."""
    if case.existing_mortgage is None or case.existing_mortgage_amount is None:
        raise ValueError("the sale has no existing mortgage for the sellers' bank to hold")
    book = LoanBook()
    for person in case.seller_persons:
        book.add_customer(person.fodselsnummer, person.name)
    book.loans.append(
        Loan(
            account=SELLERS_LOAN_ACCOUNT,
            borrowers=frozenset(p.fodselsnummer for p in case.seller_persons),
            balance=SELLERS_LOAN_BALANCE,
            balance_date=today - timedelta(days=14),
            annual_rate=SELLERS_LOAN_RATE,
            unit=case.unit,
            mortgage=case.existing_mortgage,
            mortgage_amount=case.existing_mortgage_amount,
        )
    )
    return book
