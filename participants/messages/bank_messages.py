"""The messages a bank sends, built from typed data and sealed with the bank's certificate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from broker.xml.keys import SigningCredential
from participants.messages.envelope import seal
from participants.messages.header import Header
from participants.messages.model import (
    Data,
    Pant,
    Party,
    Registerenhet,
    RightReference,
    Sletting,
    parties_data,
    units_data,
)

ELECTRONIC = "elektronisk"
PAPER = "papir"


@dataclass(frozen=True, slots=True)
class Payment:
    """Where money is to be paid: an account and the KID that names the payment."""

    account: str
    kid: str | None = None

    def to_data(self) -> Data:
        data: Data = {"kontonummer": self.account}
        if self.kid:
            data["kid"] = self.kid
        return data


@dataclass(frozen=True, slots=True)
class ConditionsLetter:
    """The forutsetningsbrev: what the bank pays to the megler's client account, and on which terms."""

    amount: int
    account: str
    deadline: date
    kid: str | None = None
    conditions: tuple[str, ...] = ()

    def to_data(self) -> Data:
        data: Data = {"beloep": self.amount, "kontonummer": self.account}
        if self.kid:
            data["kid"] = self.kid
        data["frist"] = self.deadline.isoformat()
        if self.conditions:
            data["vilkaar"] = list(self.conditions)
        return data


@dataclass(frozen=True, slots=True)
class LoanBalance:
    account: str
    balance: int
    as_of: date

    def to_data(self) -> Data:
        return {"kontonummer": self.account, "restgjeld": self.balance, "per": self.as_of.isoformat()}


@dataclass(frozen=True, slots=True)
class Encumbrance:
    """A registered mortgage the bank will have deleted once its loans are paid off."""

    unit: Registerenhet
    right: RightReference
    amount: int

    def to_data(self) -> Data:
        return {
            "registerenhet": self.unit.to_data(),
            "rettsstiftelse": self.right.to_data(),
            "pantebeloep": self.amount,
        }


def intensjon_fra_bank(
    header: Header,
    credential: SigningCredential,
    buyers: Sequence[Party],
    units: Sequence[Registerenhet],
    method: str = ELECTRONIC,
) -> bytes:
    body = {
        "kjoepere": parties_data(tuple(buyers)),
        "registerenheter": units_data(tuple(units)),
        "tinglysingsmetode": method,
    }
    return seal("intensjonFraBank", header, body, credential)


def intensjonsendring(header: Header, credential: SigningCredential, method: str, reason: str | None = None) -> bytes:
    """A change of registration method; banks and meglere both send it."""
    body: Data = {"tinglysingsmetode": method}
    if reason:
        body["begrunnelse"] = reason
    return seal("intensjonsendring", header, body, credential)


def pantedokument(
    header: Header,
    credential: SigningCredential,
    pant: Pant,
    mortgagors: Sequence[SigningCredential],
    conditions: ConditionsLetter | None = None,
) -> bytes:
    """The mortgage deed, signed by every mortgagor's personal certificate, then sealed by the bank."""
    body: Data = {"pant": pant.to_data(), "signaturer": {}}
    if conditions is not None:
        body["forutsetningsbrev"] = conditions.to_data()
    return seal("pantedokument", header, body, credential, inner_signers={"pant": list(mortgagors)})


def slettingserklaering(
    header: Header, credential: SigningCredential, sletting: Sletting, payoff_amount: int, payment: Payment
) -> bytes:
    """The bank's consent to delete its mortgage: the ``sletting`` is signed by the bank as the right's holder."""
    body: Data = {
        "sletting": sletting.to_data(),
        "signaturer": {},
        "innfrielsesbeloep": payoff_amount,
        "innbetaling": payment.to_data(),
    }
    return seal("slettingserklaering", header, body, credential, inner_signers={"sletting": [credential]})


def restgjeldssvar(
    header: Header,
    credential: SigningCredential,
    loans: Sequence[LoanBalance],
    encumbrances: Sequence[Encumbrance],
    note: str | None = None,
) -> bytes:
    body: Data = {}
    if loans:
        body["laan"] = [loan.to_data() for loan in loans]
    if encumbrances:
        body["heftelserTilSletting"] = {"heftelse": [e.to_data() for e in encumbrances]}
    if note:
        body["merknad"] = note
    return seal("restgjeldssvar", header, body, credential)


def innfrielsessaldosvar(
    header: Header,
    credential: SigningCredential,
    accounts: Sequence[str],
    balances: Sequence[tuple[date, int]],
    payment: Payment,
) -> bytes:
    body = {
        "laanekontoer": {"kontonummer": list(accounts)},
        "innfrielsessaldoer": {
            "innfrielsessaldo": [{"dato": d.isoformat(), "saldo": amount} for d, amount in balances]
        },
        "innbetaling": payment.to_data(),
    }
    return seal("innfrielsessaldosvar", header, body, credential)


def finansieringssvar(
    header: Header, credential: SigningCredential, result: str, description: str | None = None
) -> bytes:
    body: Data = {"resultat": result}
    if description:
        body["beskrivelse"] = description
    return seal("finansieringssvar", header, body, credential)


def kjoepekontraktforespoersel(
    header: Header, credential: SigningCredential, buyers: Sequence[Party], units: Sequence[Registerenhet] = ()
) -> bytes:
    body: Data = {"kjoepere": parties_data(tuple(buyers))}
    if units:
        body["registerenheter"] = units_data(tuple(units))
    return seal("kjoepekontraktforespoersel", header, body, credential)
