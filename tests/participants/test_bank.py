"""The bank's rules: financing answers by approved limit, payoff balances with daily interest, debt answers."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from broker.xml.pki import TestPki
from participants.bank.loan_book import FinancingApproval, FinancingResult, Loan, LoanBook
from participants.bank.seed import SELLERS_LOAN_ACCOUNT
from participants.messages.envelope import open_message
from participants.messages.header import Header
from participants.messages.megler_messages import innfrielsessaldoforespoersel, restgjeldsforespoersel
from participants.messages.model import Matrikkelenhet, RightReference, as_list
from tests.participants.checks import assert_valid_and_signed
from tests.participants.world import TODAY, build_world

KARI, OLA, STRANGER = "15889210181", "03928810037", "27915510189"
UNIT = Matrikkelenhet("0301", 208, 47)


def _book() -> LoanBook:
    book = LoanBook()
    book.add_customer(KARI, "Kari Nordmann")
    book.add_customer(OLA, "Ola Nordmann")
    book.approvals.append(FinancingApproval(frozenset({KARI, OLA}), 6_000_000, 4_800_000, "FB-1"))
    return book


@pytest.mark.parametrize(
    ("bidders", "bid", "expected"),
    [
        ([KARI, OLA], 6_000_000, FinancingResult.GODKJENT),
        ([KARI], 5_500_000, FinancingResult.GODKJENT),
        ([KARI, OLA], 6_000_001, FinancingResult.KUNDEKONTAKT),
        ([KARI, OLA], 6_300_000, FinancingResult.KUNDEKONTAKT),
        ([KARI, OLA], 6_300_001, FinancingResult.IKKE_GODKJENT),
        ([STRANGER], 1_000_000, FinancingResult.MANUELL),
    ],
)
def test_financing_answer_follows_the_approved_limit(bidders: list[str], bid: int, expected: FinancingResult) -> None:
    assert _book().financing_decision(bidders, bid).result is expected


def test_a_customer_without_approved_financing_is_not_approved() -> None:
    book = LoanBook()
    book.add_customer(STRANGER, "Hilde Strand")
    assert book.financing_decision([STRANGER], 100_000).result is FinancingResult.IKKE_GODKJENT


def _loan(balance_date: date) -> Loan:
    return Loan(
        account=SELLERS_LOAN_ACCOUNT,
        borrowers=frozenset({KARI}),
        balance=1_000_000,
        balance_date=balance_date,
        annual_rate=Decimal("0.0365"),
        unit=UNIT,
        mortgage=RightReference(2015, 412234, 200, 1),
        mortgage_amount=1_500_000,
    )


def test_payoff_balance_adds_simple_daily_interest_in_whole_kroner() -> None:
    start = date(2026, 1, 1)
    loan = _loan(start)
    assert loan.balance_on(start) == 1_000_000
    assert loan.balance_on(start + timedelta(days=1)) == 1_000_100  # 1 000 000 * 3.65 % / 365
    assert loan.balance_on(start + timedelta(days=30)) == 1_003_000
    with pytest.raises(ValueError):
        loan.balance_on(start - timedelta(days=1))


def test_a_loan_account_needs_a_valid_check_digit() -> None:
    with pytest.raises(ValueError):
        replace(_loan(date(2026, 1, 1)), account="92000047121")


async def test_sellers_bank_answers_debt_and_payoff_from_its_loan_book(test_pki: TestPki) -> None:
    world = build_world(test_pki, auto_proceed=False)
    sale, megler = world.sale, world.megler
    case = megler.cases[sale.reference]
    request = megler.send_debt_request(case)
    [answer] = await world.sellers_bank.handle_raw(request)
    assert_valid_and_signed(answer, world.verifier)
    debt = open_message(answer, world.verifier)
    assert debt.header.recipient_reference == sale.reference
    [loan] = as_list(debt.body["laan"])
    loan_book = world.sellers_bank.book.loans[0]
    assert (loan["kontonummer"], loan["restgjeld"]) == (SELLERS_LOAN_ACCOUNT, loan_book.balance_on(TODAY))
    [encumbrance] = as_list(debt.body["heftelserTilSletting"]["heftelse"])
    assert RightReference.from_data(encumbrance["rettsstiftelse"]) == sale.existing_mortgage

    dates = [TODAY + timedelta(days=10), sale.takeover_date]
    header = Header(sale.megler, sale.sellers_bank, sale.reference, debt.header.sender_reference)
    payoff_request = innfrielsessaldoforespoersel(header, megler.credential, [SELLERS_LOAN_ACCOUNT], dates)
    balance_answer, declaration = await world.sellers_bank.handle_raw(payoff_request)
    balances = as_list(open_message(balance_answer).body["innfrielsessaldoer"]["innfrielsessaldo"])
    assert [b["saldo"] for b in balances] == [loan_book.balance_on(d) for d in dates]
    consent = open_message(declaration, world.verifier)
    assert consent.message_type == "slettingserklaering"
    assert consent.body["innfrielsesbeloep"] == loan_book.balance_on(sale.takeover_date)
    signers = world.verifier.verify_inner(consent.root, consent.document("sletting").get("Id"))
    assert [s.orgnr for s in signers] == [sale.sellers_bank.orgnr]


async def test_a_debt_request_for_strangers_answers_no_loans_with_a_note(test_pki: TestPki) -> None:
    world = build_world(test_pki, auto_proceed=False)
    sale = world.sale
    header = Header(sale.megler, sale.sellers_bank, "OTHER-1")
    request = restgjeldsforespoersel(header, world.megler.credential, sale.buyer_persons, (UNIT,))
    [answer] = await world.sellers_bank.handle_raw(request)
    body = open_message(answer).body
    assert "laan" not in body and "merknad" in body


async def test_the_buyers_bank_answers_a_financing_check_and_reuses_the_case_for_its_intention(
    test_pki: TestPki,
) -> None:
    world = build_world(test_pki, auto_proceed=False)
    case = world.megler.cases[world.sale.reference]
    [answer] = await world.buyers_bank.handle_raw(world.megler.send_financing_check(case, bid=world.sale.price))
    assert open_message(answer, world.verifier).body["resultat"] == "GODKJENT"
    bank_case, _ = world.buyers_bank.send_intention(world.sale.megler, world.sale.buyer_persons, (world.sale.unit,))
    assert list(world.buyers_bank.cases) == [bank_case.reference]
    assert bank_case.megler_reference == world.sale.reference
