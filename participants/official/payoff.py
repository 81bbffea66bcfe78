"""The sellers' bank at settlement: it quotes the payoff (``Innfrielsessaldosvar``), takes the megler's payment,
and deletes its mortgage only once the payment has covered the loan.

The order protects the bank: its mortgage stays in the grunnbok, ahead of the buyers' bank's, until the money
is in. Then the bank itself sends Kartverket its ``sletting`` (one ``forsendelse`` per innsending.xsd, the bank
as innsender, which counts as the right holder's signature). The payment is the simulators' stand-in for a
bank transfer with a KID; no payment system is involved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from lxml import etree

from broker.domain.identifiers import is_valid_kid
from participants.cases import SaleCase
from participants.kartverket.etinglysing.schema import NAMESPACE, InnsendingSchema
from participants.messages.model import RightReference

Data = dict[str, Any]
DAILY_INTEREST_PPM = 137  # about 5 % a year, per day, in millionths of the balance


def kid_for(account: str, reference: str) -> str:
    """A KID (MOD10, Luhn) made of the account's last digits and the case reference's digits."""
    digits = (account[-6:] + "".join(c for c in reference if c.isdigit()))[-20:]
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    kid = digits + str((10 - total % 10) % 10)
    if not is_valid_kid(kid):
        raise ValueError(f"no valid KID from {digits}")
    return kid


@dataclass(frozen=True, slots=True)
class Payment:
    """Money the megler pays from the settlement account towards a loan."""

    account: str
    kid: str
    amount: int
    paid_on: date


@dataclass
class LoanAccount:
    """One loan of the sellers' bank: its balance on ``as_of``, the KID its payoff must carry, and what has
    been paid towards it."""

    account: str
    balance: int
    as_of: date
    kid: str
    paid: int = 0
    payments: list[Payment] = field(default_factory=list)

    def balance_on(self, day: date) -> int:
        """The payoff on ``day``: the balance with the interest accrued since ``as_of``."""
        days = max((day - self.as_of).days, 0)
        return self.balance + self.balance * DAILY_INTEREST_PPM * days // 1_000_000

    @property
    def paid_off(self) -> bool:
        return bool(self.payments) and self.paid >= self.balance_on(self.payments[-1].paid_on)


class UnknownPayment(ValueError):
    """A payment to an account this bank has no loan on, or with a KID that is not the loan's."""


class LoanBook:
    """The sellers' bank's loans by account number."""

    def __init__(self, loans: list[LoanAccount]) -> None:
        self.loans = {loan.account: loan for loan in loans}

    def quote(self, account: str, dates: list[date]) -> list[tuple[date, int]]:
        loan = self.loans[account]
        return [(day, loan.balance_on(day)) for day in dates]

    def receive(self, payment: Payment) -> bool:
        """Book a payment; True once the loan is paid off (the bank may then delete its mortgage)."""
        loan = self.loans.get(payment.account)
        if loan is None or payment.kid != loan.kid:
            raise UnknownPayment(f"no loan {payment.account} with KID {payment.kid}")
        loan.payments.append(payment)
        loan.paid += payment.amount
        return loan.paid_off


def _code(value: str, name: str) -> Data:
    return {"kodeverdi": value, "navn": name}


def deletion_forsendelse(sale: SaleCase, reference: str, schema: InnsendingSchema) -> bytes:
    """The sellers' bank's ``sletting`` of its mortgage on the unit sold; document reference
    ``<reference>-sletting``. The sale must name the mortgage (``existing_mortgage``)."""
    mortgage: RightReference | None = sale.existing_mortgage
    if mortgage is None:
        raise ValueError(f"{sale.reference}: the sale names no mortgage of the sellers' bank")
    document = f"{reference}-sletting"
    data = {
        "forsendelsesreferanse": reference,
        "usignertMelding": {
            "dokumenter": {
                "dokument": [
                    {
                        "dokumentreferanse": document,
                        "rettsstiftelser": {
                            "sletting": [
                                {
                                    "rettsstiftelsesreferanse": f"{document}-1",
                                    "rettsstiftelsestype": _code("SL_SLE", "SLETTING"),
                                    "endrer": {
                                        "delAvRett": [
                                            {
                                                "rettsstiftelse": {
                                                    "rettsstiftelseReferanse": {
                                                        "dokumentaar": mortgage.year,
                                                        "dokumentnummer": mortgage.document_number,
                                                        "embetenummer": str(mortgage.office),
                                                        "rettsstiftelsesnummer": mortgage.right_number,
                                                        "rettsstiftelsestype": _code("OB_PDO", "PANTEDOKUMENT"),
                                                    }
                                                }
                                            }
                                        ]
                                    },
                                }
                            ]
                        },
                    }
                ]
            },
            "foelgebrev": {
                "innsender": {"identifikasjonsnummer": sale.sellers_bank.orgnr},
                "dokumentrekkefoelge": {"referanse": [{"gjelderDokumentreferanse": document}]},
            },
        },
        "ikkeDigitaleSignaturer": {
            "signatur": [{"gjelderDokumentreferanse": document, "personidentifikasjonsnummer": sale.sellers_bank.orgnr}]
        },
    }
    root = schema.decoder.encode(
        data, path=f"{{{NAMESPACE}}}forsendelse", namespaces={"": NAMESPACE}, etree_element_class=etree.Element
    )
    if not isinstance(root, etree._Element):
        raise TypeError("the deletion does not encode to one forsendelse")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="ISO-8859-1"))
