"""The messages a megler sends to banks, built from typed data and sealed with the megler's certificate.

The deed package to Kartverket has its own module (``package``): it carries documents others signed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from broker.xml.keys import SigningCredential
from participants.messages.envelope import seal
from participants.messages.header import Header
from participants.messages.model import (
    Data,
    Party,
    Person,
    RegisteredDocument,
    Registerenhet,
    RightReference,
    Share,
    as_date,
    as_list,
    parties_data,
    shares_data,
    shares_from_data,
    units_data,
    units_from_data,
)


@dataclass(frozen=True, slots=True)
class PurchaseContract:
    """The structured purchase contract (kjøpekontrakt) as the megler holds it."""

    contract_date: date
    price: int
    acceptance_date: date
    takeover_date: date
    sellers: tuple[Share, ...]
    buyers: tuple[Share, ...]
    units: tuple[Registerenhet, ...]
    object_type: str = "leilighet"
    ownership: str = "eierseksjon"
    costs: tuple[tuple[str, int], ...] = ()
    shared_debt: int | None = None
    address: str | None = None

    def to_data(self) -> Data:
        data: Data = {
            "kontraktsdato": self.contract_date.isoformat(),
            "kjoepesum": self.price,
            "omkostninger": {"omkostning": [{"beskrivelse": d, "beloep": a} for d, a in self.costs]},
        }
        if self.shared_debt is not None:
            data["fellesgjeld"] = self.shared_debt
        data.update(
            {
                "akseptdato": self.acceptance_date.isoformat(),
                "overtakelsesdato": self.takeover_date.isoformat(),
                "selgere": shares_data(self.sellers),
                "kjoepere": shares_data(self.buyers),
                "registerenheter": units_data(self.units),
                "objekttype": self.object_type,
                "eierform": self.ownership,
            }
        )
        if self.address:
            data["adresse"] = self.address
        return data

    @classmethod
    def from_data(cls, data: Data) -> PurchaseContract:
        costs = tuple(
            (str(c["beskrivelse"]), int(c["beloep"]))
            for c in as_list((data.get("omkostninger") or {}).get("omkostning"))
        )
        return cls(
            contract_date=as_date(data["kontraktsdato"]),
            price=int(data["kjoepesum"]),
            acceptance_date=as_date(data["akseptdato"]),
            takeover_date=as_date(data["overtakelsesdato"]),
            sellers=shares_from_data(data["selgere"]),
            buyers=shares_from_data(data["kjoepere"]),
            units=units_from_data(data["registerenheter"]),
            object_type=str(data["objekttype"]),
            ownership=str(data["eierform"]),
            costs=costs,
            shared_debt=data.get("fellesgjeld"),
            address=data.get("adresse"),
        )


@dataclass(frozen=True, slots=True)
class IntentionAnswer:
    status: str
    description: str | None = None
    buyers: tuple[Party, ...] = ()
    units: tuple[Registerenhet, ...] = ()
    method: str | None = None

    def to_data(self) -> Data:
        data: Data = {"status": self.status}
        if self.description:
            data["beskrivelse"] = self.description
        if self.buyers:
            data["kjoepere"] = parties_data(self.buyers)
        if self.units:
            data["registerenheter"] = units_data(self.units)
        if self.method:
            data["tinglysingsmetode"] = self.method
        return data


def intensjonssvar_fra_megler(header: Header, credential: SigningCredential, answer: IntentionAnswer) -> bytes:
    return seal("intensjonssvarFraMegler", header, answer.to_data(), credential)


def avbrutt_samhandling(header: Header, credential: SigningCredential, reason: str) -> bytes:
    return seal("avbruttSamhandling", header, {"aarsak": reason}, credential)


def pantedokument_kvittering(header: Header, credential: SigningCredential, status: str, description: str) -> bytes:
    return seal("pantedokumentKvittering", header, {"status": status, "beskrivelse": description}, credential)


def kjoepekontraktsvar(header: Header, credential: SigningCredential, contract: PurchaseContract) -> bytes:
    return seal("kjoepekontraktsvar", header, {"kjoepekontrakt": contract.to_data()}, credential)


def kjoepekontraktendring(
    header: Header, credential: SigningCredential, contract: PurchaseContract, change: str | None = None
) -> bytes:
    body: Data = {"kjoepekontrakt": contract.to_data()}
    if change:
        body["endringsbeskrivelse"] = change
    return seal("kjoepekontraktendring", header, body, credential)


def restgjeldsforespoersel(
    header: Header, credential: SigningCredential, sellers: Sequence[Party], units: Sequence[Registerenhet]
) -> bytes:
    body = {"selgere": parties_data(tuple(sellers)), "registerenheter": units_data(tuple(units))}
    return seal("restgjeldsforespoersel", header, body, credential)


def innfrielsessaldoforespoersel(
    header: Header, credential: SigningCredential, accounts: Sequence[str], dates: Sequence[date]
) -> bytes:
    if not 1 <= len(dates) <= 4:
        raise ValueError("a payoff balance is asked for one to four dates")
    body = {
        "laanekontoer": {"kontonummer": list(accounts)},
        "innfrielsesdatoer": {"dato": [d.isoformat() for d in dates]},
    }
    return seal("innfrielsessaldoforespoersel", header, body, credential)


def finansieringsforespoersel(
    header: Header,
    credential: SigningCredential,
    bidders: Sequence[Person],
    bid: int,
    acceptance_deadline: datetime,
    units: Sequence[Registerenhet],
    financing_certificate: str | None = None,
) -> bytes:
    body: Data = {
        "budgivere": {"person": [b.to_data() for b in bidders]},
        "budbeloep": bid,
        "akseptfrist": acceptance_deadline.isoformat(),
    }
    if financing_certificate:
        body["finansieringsbevis"] = financing_certificate
    body["registerenheter"] = units_data(tuple(units))
    return seal("finansieringsforespoersel", header, body, credential)


def finansiering_avsluttet(
    header: Header, credential: SigningCredential, ended: datetime, bidders: Sequence[Person] | None = None
) -> bytes:
    """The bidding round is over: for everyone when ``bidders`` is None, otherwise for those named."""
    body: Data = {"alleBudgivere": {}} if bidders is None else {"budgivere": {"person": [b.to_data() for b in bidders]}}
    body["avsluttet"] = ended.isoformat()
    return seal("finansieringAvsluttet", header, body, credential)


def gjennomfoert_tinglysing(
    header: Header,
    credential: SigningCredential,
    units: Sequence[Registerenhet],
    documents: Sequence[RegisteredDocument],
) -> bytes:
    body = {"registerenheter": units_data(tuple(units)), "tinglystDokument": [d.to_data() for d in documents]}
    return seal("gjennomfoertTinglysing", header, body, credential)


def oppnaadd_prioritet(
    header: Header,
    credential: SigningCredential,
    unit: Registerenhet,
    right: RightReference,
    priority: int,
    reached: datetime,
) -> bytes:
    body = {
        "registerenhet": unit.to_data(),
        "rettsstiftelse": right.to_data(),
        "prioritet": {"prioritetsnummer": priority},
        "oppnaadd": reached.isoformat(),
    }
    return seal("oppnaaddPrioritet", header, body, credential)
