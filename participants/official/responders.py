"""What a megler's or a bank's system answers to an official DSVE request, as the specification prescribes.

- ``IntensjonFraBank`` → ``IntensjonssvarFraMegler``: ``RutetSuksessfullt`` with the answer document when a
  case of this megler has the unit and one of the buyers; ``UkjentRegisterenhet`` when no case has the unit;
  ``UgyldigKjøper`` when the unit's case has none of the buyers; ``Avvist`` for a document that is not valid.
  A NACK carries an empty ZIP and the reason in ``statusDescription`` (in Norwegian, as the spec asks).
- ``SignedMortgageDeed`` → ``SignedMortgageDeedProcessed``: ``RoutedSuccessfully``, ``UnknownCadastre``,
  ``DebitorMismatch`` or ``Rejected``. A real deed is a BankID SDO whose signatures the simulator cannot
  verify; its stand-in is the deed's XML (Kartverket's ``dokument``) with the mortgagors' XML signatures by
  test certificates, which the broker verifies; the megler reads it for units and debtors.
- ``Restgjeldsforespoersel`` → ``Restgjeldssvar``: ``RutetSuksessfullt`` with the loan and the mortgage to
  delete; ``LaanNedbetalt`` when the bank has no loan on the unit.
- ``Innfrielsessaldoforespoersel`` → ``Innfrielsessaldosvar``: the payoff per date asked for, the account and
  the KID to pay it with (the bank's loan book, ``payoff.py``); ``LaanNedbetalt`` as above.

The first problem found decides the answer, as the specification's error handling says.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from lxml import etree
from lxml.builder import E

from participants.cases import SaleCase
from participants.messages.model import Matrikkelenhet, Registerenhet
from participants.official import documents
from participants.official.payoff import LoanAccount, LoanBook, kid_for
from participants.official.schema import OfficialSchema

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer to send: manifest keys and the files of its ZIP (none for a NACK)."""

    message_type: str
    status: str | None
    description: str
    files: dict[str, bytes] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)  # other manifest keys (``coverLetter``)

    @property
    def properties(self) -> dict[str, str]:
        properties = {"messageType": self.message_type, **self.extra}
        if self.status is not None:
            properties["status"] = self.status
            properties["statusDescription"] = self.description
        return properties


def _unit_key(unit: Registerenhet) -> tuple[str, ...]:
    if isinstance(unit, Matrikkelenhet):
        return (
            "m",
            unit.kommunenummer,
            str(unit.gaardsnummer),
            str(unit.bruksnummer),
            str(unit.festenummer),
            str(unit.seksjonsnummer),
        )
    return ("b", unit.orgnr, str(unit.andelsnummer))


def _official_unit_keys(data: Any) -> set[tuple[str, ...]]:
    """Unit keys of every ``matrikkel`` / ``borettsandel`` in decoded official data, at any depth."""
    keys: set[tuple[str, ...]] = set()
    if isinstance(data, dict):
        matrikkel = data.get("matrikkel")
        if isinstance(matrikkel, dict):
            keys.add(
                (
                    "m",
                    str(matrikkel.get("@kommunenummer")),
                    str(matrikkel.get("@gaardsnummer")),
                    str(matrikkel.get("@bruksnummer")),
                    str(matrikkel.get("@festenummer") or 0),
                    str(matrikkel.get("@seksjonsnummer") or 0),
                )
            )
        share = data.get("borettsandel")
        if isinstance(share, dict):
            keys.add(("b", str(share.get("@organisasjonsnummer")), str(share.get("@andelsnummer"))))
        for value in data.values():
            keys |= _official_unit_keys(value)
    elif isinstance(data, list):
        for value in data:
            keys |= _official_unit_keys(value)
    return keys


def _person_ids(data: Any) -> set[str]:
    ids: set[str] = set()
    if isinstance(data, dict):
        who = data.get("person")
        if isinstance(who, dict) and who.get("@id"):
            ids.add(str(who["@id"]))
        for value in data.values():
            ids |= _person_ids(value)
    elif isinstance(data, list):
        for value in data:
            ids |= _person_ids(value)
    return ids


class MeglerResponder:
    """The megler simulator's answers in the official profile, for the cases it holds."""

    def __init__(
        self, schema: OfficialSchema, cases: Sequence[SaleCase], clock: Clock = lambda: datetime.now(UTC)
    ) -> None:
        self.schema = schema
        self.cases = list(cases)
        self.clock = clock

    def _cases_with_unit(self, keys: set[tuple[str, ...]]) -> list[SaleCase]:
        return [case for case in self.cases if _unit_key(case.unit) in keys]

    def on_intention(self, data: bytes) -> Reply:
        kind = "IntensjonssvarFraMegler"
        try:
            root, request = self.schema.decode(data)
        except ValueError as exc:
            return Reply(kind, "Avvist", f"Ugyldig forsendelse: {exc}"[:500])
        if root != "intensjonfrabank":
            return Reply(kind, "Avvist", f"Forventet intensjonfrabank, fikk {root}")
        with_unit = self._cases_with_unit(_official_unit_keys(request["registerenheter"]))
        if not with_unit:
            return Reply(kind, "UkjentRegisterenhet", "Fant ingen oppdrag på registerenheten")
        buyers = _person_ids(request["kjoepere"])
        matching = [case for case in with_unit if buyers & {p.fodselsnummer for p in case.buyer_persons}]
        if not matching:
            return Reply(kind, "UgyldigKjøper", "Fant oppdraget, men ingen av kjøperne er registrert på det")
        case = matching[0]
        root, answer = documents.intention_reply(request, case, self.clock())
        name = f"intensjonssvarframegler_{case.reference}.xml"
        return Reply(kind, "RutetSuksessfullt", "Rutet til oppdraget", {name: self.schema.encode(root, answer)})

    def on_mortgage_deed(self, properties: dict[str, str], files: dict[str, bytes]) -> Reply:
        kind = "SignedMortgageDeedProcessed"
        deeds = [name for name in files if name.lower().startswith("signedmortgagedeed_")]
        if len(deeds) != 1 or not deeds[0].lower().endswith(".xml"):
            return Reply(
                kind, "Rejected", "Forsendelsen må inneholde nøyaktig ett pantedokument som simulatoren kan lese (XML)"
            )
        try:
            deed = etree.fromstring(
                files[deeds[0]],
                etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True),
            )
        except etree.XMLSyntaxError as exc:
            return Reply(kind, "Rejected", f"Pantedokumentet kan ikke leses: {exc}")
        keys = _deed_unit_keys(deed)
        with_unit = self._cases_with_unit(keys)
        if not with_unit:
            return Reply(kind, "UnknownCadastre", "Ukjent matrikkelenhet")
        debtors = {(e.text or "").strip() for e in deed.iter("{*}identifikasjonsnummer")}
        if not any(debtors & {p.fodselsnummer for p in case.buyer_persons} for case in with_unit):
            return Reply(kind, "DebitorMismatch", "Ingen av debitorene i pantedokumentet er kjøpere i oppdraget")
        body = E.SignedMortgageDeedProcessedMessage(
            E.MessageType(kind),
            E.Status("RoutedSuccessfully"),
            E.StatusDescription("Rutet til oppdraget"),
            E.ExternalSystemId(with_unit[0].reference),
        )
        xml = etree.tostring(body, xml_declaration=True, encoding="UTF-8")
        return Reply(kind, "RoutedSuccessfully", "Rutet til oppdraget", {"signedmortgagedeedprocessed.xml": xml})


def _deed_unit_keys(deed: etree._Element) -> set[tuple[str, ...]]:
    def text(element: etree._Element, name: str, default: str = "0") -> str:
        found = element.find(f"{{*}}{name}")
        return (found.text or default).strip() if found is not None else default

    keys: set[tuple[str, ...]] = {
        (
            "m",
            text(m, "kommunenummer", ""),
            text(m, "gaardsnummer"),
            text(m, "bruksnummer"),
            text(m, "festenummer"),
            text(m, "seksjonsnummer"),
        )
        for m in deed.iter("{*}matrikkelenhet")
    }
    for share in deed.iter("{*}borettslagsandel"):
        keys.add(("b", text(share, "borettslagnummer", ""), text(share, "andelsnummer")))
    return keys


@dataclass(frozen=True, slots=True)
class Loan:
    """A loan of the sellers' bank secured on a unit: account and balance."""

    unit: Registerenhet
    account: str
    balance: int


class SellersBankResponder:
    """The sellers' bank simulator's answers: outstanding debt for the units it holds mortgages on."""

    def __init__(
        self,
        schema: OfficialSchema,
        cases: Sequence[SaleCase],
        loans: Sequence[Loan],
        reference: str = "RESTGJELD-1",
        book: LoanBook | None = None,
    ) -> None:
        self.schema = schema
        self.cases = list(cases)
        self.loans = list(loans)
        self.reference = reference
        self.book = book or LoanBook(
            [LoanAccount(loan.account, loan.balance, date.today(), kid_for(loan.account, reference)) for loan in loans]
        )

    def _matching(self, request: Any, element: str) -> tuple[list[Loan], list[SaleCase]]:
        keys = _official_unit_keys(request[element])
        return (
            [loan for loan in self.loans if _unit_key(loan.unit) in keys],
            [case for case in self.cases if _unit_key(case.unit) in keys],
        )

    def on_debt_request(self, data: bytes) -> Reply:
        kind = "Restgjeldssvar"
        try:
            root, request = self.schema.decode(data)
        except ValueError as exc:
            return Reply(kind, "Feil", f"Ugyldig forespørsel: {exc}"[:500])
        loans, cases = self._matching(request, "registerenheterMedHjemmelshavere")
        if not loans or not cases:
            return Reply(kind, "LaanNedbetalt", "Banken har ingen lån med pant i registerenheten")
        root, answer = documents.debt_answer(request, cases[0], self.reference, loans[0].account, loans[0].balance)
        name = f"restgjeldssvar_{self.reference}.xml"
        return Reply(kind, "RutetSuksessfullt", "Restgjeld oppgitt", {name: self.schema.encode(root, answer)})

    def on_payoff_request(self, data: bytes) -> Reply:
        """``Innfrielsessaldoforespoersel`` → ``Innfrielsessaldosvar``: the payoff on each date asked for, the
        account and KID to pay it to; ``LaanNedbetalt`` when the bank has no loan on the unit."""
        kind = "Innfrielsessaldosvar"
        try:
            root, request = self.schema.decode(data)
        except ValueError as exc:
            return Reply(kind, "Feil", f"Ugyldig forespørsel: {exc}"[:500])
        if root != "innfrielsessaldoforespoersel":
            return Reply(kind, "Feil", f"Forventet innfrielsessaldoforespoersel, fikk {root}")
        loans, cases = self._matching(request, "registerenheterMedHjemmelshavere")
        if not loans or not cases or loans[0].account not in self.book.loans:
            return Reply(kind, "LaanNedbetalt", "Banken har ingen lån med pant i registerenheten")
        dates = [date.fromisoformat(str(d)) for d in request["innfrielsesdatoer"]["innfrielsesdato"]]
        account = self.book.loans[loans[0].account]
        root, answer = documents.payoff_answer(
            request, cases[0], self.reference, account.account, account.kid, self.book.quote(account.account, dates)
        )
        name = f"innfrielsessaldosvar_{self.reference}.xml"
        return Reply(kind, "RutetSuksessfullt", "Innfrielsessaldo oppgitt", {name: self.schema.encode(root, answer)})
