"""A whole sale in the official DSVE profile between simulators over the Altinn-compatible API, in the order of
the specification and of a settlement that keeps everyone's security:

1. ``Restgjeldsforespoersel`` → ``Restgjeldssvar``: on taking the assignment the megler asks the sellers' bank
   what it holds on the unit;
2. ``IntensjonFraBank`` → ``IntensjonssvarFraMegler``: the buyers' bank asks about the registration method;
3. ``SignedMortgageDeed`` → ``SignedMortgageDeedProcessed``: the buyers' bank sends its mortgage deed with its
   conditions letter (``coverletter_*.xml``), which asks for first priority;
4. the megler sends the deed of sale and the mortgage to Kartverket (one ``forsendelse`` on
   ``kv_etinglysing``) and gets a ``forsendelsesstatus`` TINGLYST with document numbers, which it passes to
   the buyers' bank with ``GjennomfoertEtinglysing`` (``forsendelsesstatus_*.xml`` in the same ZIP);
5. ``Innfrielsessaldoforespoersel`` → ``Innfrielsessaldosvar``: the payoff; the megler pays it, and only when
   the sellers' bank has confirmed the loan paid does that bank send Kartverket its ``sletting``;
6. the megler reads the buyers' mortgage's priority in the grunnbok and sends ``OppnaaddPrioritetOk`` only
   when it is the priority the conditions letter asks for; while the sellers' mortgage stands it is second.

Every DSVE step is a transfer the broker checks against the official schema and the conversation rules; each
party finds its transfers by searching the API, reads the ZIP, answers and confirms, as a real system does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from broker.xml.keys import SigningCredential
from participants.cases import SaleCase, kroner
from participants.kartverket.etinglysing.altinn import AltinnReceiver
from participants.kartverket.etinglysing.official import submit
from participants.kartverket.etinglysing.sale import sale_forsendelse
from participants.kartverket.priority import PriorityLookup
from participants.official import documents
from participants.official.cover_letter import CoverLetterSchema, agreed_priority, cover_letter
from participants.official.inbox import Handler, OfficialInbox
from participants.official.payoff import Payment, deletion_forsendelse
from participants.official.registered import FinalStatus, read_status
from participants.official.responders import Loan, MeglerResponder, Reply, SellersBankResponder
from participants.official.schema import OfficialSchema
from participants.sdk.file_transfer_client import FileTransferClient
from participants.sdk.file_transfer_models import FileTransferOverview

RESOURCE = "kv_dsve"
BANK_REFERENCE = "LAAN-2026-0412"
DOCUMENT_REFERENCE = "NLS-2026-0412-9057"
SELLERS_LOAN = "12345678903"
MEGLER_CLIENT_ACCOUNT = "15031234562"  # the megler's client account, where the buyers' bank pays the loan


class SaleStopped(RuntimeError):
    """A step did not give what the next one needs; the sale stops there, as a settlement clerk would."""


@dataclass(frozen=True, slots=True)
class Kartverket:
    """Kartverket's side of the sale: its receiver on ``kv_etinglysing`` and the grunnbok the megler reads
    the priority in (a lookup, as a megler's system reads a grunnboksutskrift)."""

    receiver: AltinnReceiver
    priority: PriorityLookup


@dataclass
class SaleLog:
    """What happened, in order: readable lines for the demo, and what each party received for the checks."""

    lines: list[str] = field(default_factory=list)
    received: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    files: dict[str, list[dict[str, bytes]]] = field(default_factory=dict)
    registered: dict[str, FinalStatus] = field(default_factory=dict)

    def note(self, who: str, text: str) -> None:
        self.lines.append(f"{who:<14} {text}")

    def receive(self, who: str, overview: FileTransferOverview) -> None:
        kind = overview.property_list.get("messageType", "?")
        status = overview.property_list.get("status", "")
        self.received.setdefault(who, []).append((kind, status))
        description = overview.property_list.get("statusDescription", "")
        detail = f" {status}" + (f" ({description})" if description else "") if status else ""
        self.note(who, f"received {kind}{detail}")


def _recording(log: SaleLog, who: str, answer: Callable[[dict[str, bytes]], Reply] | None = None) -> Handler:
    async def handle(overview: FileTransferOverview, files: dict[str, bytes]) -> Reply | None:
        log.receive(who, overview)
        log.files.setdefault(who, []).append(files)
        return answer(files) if answer is not None else None

    return handle


def _only_xml(files: dict[str, bytes]) -> bytes:
    return next(data for name, data in files.items() if name.lower().endswith(".xml"))


def _registered(log: SaleLog, status: bytes, what: str) -> FinalStatus:
    final = read_status(status)
    log.registered[what] = final
    numbers = ", ".join(f"{d.number} ({d.reference})" for d in final.documents.values())
    log.note("Kartverket", f"{final.outcome} {what}: {numbers}")
    return final


async def run_official_sale(
    case: SaleCase,
    schema: OfficialSchema,
    clients: dict[str, FileTransferClient],
    settle: Callable[[], Awaitable[None]],
    kartverket: Kartverket,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    pays: Callable[[int], int] = lambda due: due,
    log: SaleLog | None = None,
    deed_signers: Sequence[SigningCredential] = (),
) -> SaleLog:
    """Run the sale; ``clients`` by role (``bank``, ``megler``, ``sellers_bank``); ``settle`` lets the broker
    finish publishing between steps (a short wait in a demo, nothing in a test with an in-process broker).
    ``deed_signers``: the mortgagors' credentials that sign the mortgage deed (the broker refuses a deed its
    mortgagors have not signed). ``pays`` is what the megler pays of the payoff due (all of it, unless a test
    says otherwise).
    Raises SaleStopped (or Kartverket's NotRegistered) where a step fails; ``log`` (the caller's, or a new
    one returned at the end) says how far it came."""
    log = SaleLog() if log is None else log
    megler_answers = MeglerResponder(schema, [case], now)
    sellers_bank_answers = SellersBankResponder(schema, [case], [Loan(case.unit, SELLERS_LOAN, 1_850_000)])
    bank = OfficialInbox(
        clients["bank"],
        case.buyers_bank.orgnr,
        RESOURCE,
        {
            kind: _recording(log, "buyers' bank")
            for kind in (
                "IntensjonssvarFraMegler",
                "SignedMortgageDeedProcessed",
                "GjennomfoertEtinglysing",
                "OppnaaddPrioritetOk",
            )
        },
    )
    megler = OfficialInbox(
        clients["megler"],
        case.megler.orgnr,
        RESOURCE,
        {
            "IntensjonFraBank": _recording(log, "megler", lambda files: megler_answers.on_intention(_only_xml(files))),
            "SignedMortgageDeed": _recording(
                log, "megler", lambda files: megler_answers.on_mortgage_deed({"coverLetter": "XmlAttached"}, files)
            ),
            "Restgjeldssvar": _recording(log, "megler"),
            "Innfrielsessaldosvar": _recording(log, "megler"),
        },
    )
    sellers_bank = OfficialInbox(
        clients["sellers_bank"],
        case.sellers_bank.orgnr,
        RESOURCE,
        {
            "Restgjeldsforespoersel": _recording(
                log, "sellers' bank", lambda files: sellers_bank_answers.on_debt_request(_only_xml(files))
            ),
            "Innfrielsessaldoforespoersel": _recording(
                log, "sellers' bank", lambda files: sellers_bank_answers.on_payoff_request(_only_xml(files))
            ),
        },
    )

    async def step(sender: OfficialInbox, reply: Reply, to: str, *then: OfficialInbox) -> None:
        await sender.send(reply, [to])
        for inbox in then:
            await settle()
            await inbox.poll_once()

    def xml(built: tuple[str, documents.Data]) -> bytes:
        return schema.encode(*built)

    # 1. the sellers' bank's loans on the unit
    debt = xml(documents.debt_request(case, now()))
    request = Reply("Restgjeldsforespoersel", None, "", {f"restgjeldsforespoersel_{case.reference}.xml": debt})
    await step(megler, request, case.sellers_bank.orgnr, sellers_bank, megler)

    # 2. the buyers' bank's intention, 3. its mortgage deed
    intention = xml(documents.intention_from_bank(case, BANK_REFERENCE, now()))
    request = Reply("IntensjonFraBank", None, "", {"intensjonfrabank.xml": intention})
    await step(bank, request, case.megler.orgnr, megler, bank)
    deed = documents.deed_stand_in(case, DOCUMENT_REFERENCE, deed_signers)
    letters = CoverLetterSchema(schema.directory)
    letter = cover_letter(letters, case, BANK_REFERENCE, MEGLER_CLIENT_ACCOUNT, case.takeover_date, now())
    files = {"signedmortgagedeed_1.xml": deed, "coverletter_1.xml": letter}
    request = Reply("SignedMortgageDeed", None, "", files, {"coverLetter": "XmlAttached"})
    await step(bank, request, case.megler.orgnr, megler, bank)
    if ("SignedMortgageDeedProcessed", "RoutedSuccessfully") not in log.received.get("buyers' bank", []):
        raise SaleStopped("the megler did not take the buyers' bank's mortgage deed")
    received_letter = next(f["coverletter_1.xml"] for f in reversed(log.files["megler"]) if "coverletter_1.xml" in f)
    agreed = agreed_priority(letters, received_letter)

    # 4. the deed of sale and the mortgage to Kartverket; its status to the buyers' bank
    log.note("megler", "sends the deed of sale and the buyers' mortgage to Kartverket (forsendelse)")
    forsendelse = sale_forsendelse(case, case.reference, kartverket.receiver.service.schema)
    status = await submit(
        clients["megler"], case.megler.orgnr, kartverket.receiver, forsendelse, case.reference, settle
    )
    sale = _registered(log, status, "the deed of sale and the mortgage")
    status_file = f"forsendelsesstatus_{case.reference}.xml"
    registered = xml(
        documents.registration_done(case, BANK_REFERENCE, DOCUMENT_REFERENCE, "payload.zip", now(), status_file)
    )
    notice = Reply(
        "GjennomfoertEtinglysing",
        None,
        "",
        {f"gjennomfoertetinglysing_{case.reference}.xml": registered, status_file: status},
    )
    await step(megler, notice, case.buyers_bank.orgnr, bank)

    # 5. the payoff, paid; the sellers' bank deletes its mortgage only when the loan is paid
    payday = now().date()
    asked = xml(documents.payoff_request(case, sellers_bank_answers.reference, [payday, payday + timedelta(days=1)]))
    request = Reply(
        "Innfrielsessaldoforespoersel", None, "", {f"innfrielsessaldoforespoersel_{case.reference}.xml": asked}
    )
    await step(megler, request, case.sellers_bank.orgnr, sellers_bank, megler)
    if log.received["megler"][-1] != ("Innfrielsessaldosvar", "RutetSuksessfullt"):
        raise SaleStopped("the sellers' bank gave no payoff")
    due = _payment_due(schema, log.files["megler"][-1], payday)
    payment = Payment(due.account, due.kid, pays(due.amount), payday)
    log.note("megler", f"pays {kroner(payment.amount)} to {payment.account}, KID {payment.kid}")
    if not sellers_bank_answers.book.receive(payment):
        log.note("sellers' bank", f"{kroner(payment.amount)} received, {kroner(due.amount)} due: the mortgage stays")
        raise SaleStopped("the payoff is not paid in full; the sellers' bank keeps its mortgage")
    log.note("sellers' bank", "loan paid off; sends the sletting of its mortgage to Kartverket")
    reference = f"SLETT-{case.reference}"
    deletion = deletion_forsendelse(case, reference, kartverket.receiver.service.schema)
    status = await submit(
        clients["sellers_bank"], case.sellers_bank.orgnr, kartverket.receiver, deletion, reference, settle
    )
    _registered(log, status, "the sellers' bank's sletting")

    # 6. the priority reached, read in the grunnbok
    mortgage = sale.documents.get(f"{case.reference}-pant")
    if mortgage is None:
        raise SaleStopped("Kartverket's status names no registered mortgage")
    priority = await kartverket.priority(case.unit, mortgage.right)
    log.note(
        "megler",
        f"reads the grunnbok: the buyers' mortgage {mortgage.number} has priority {priority} "
        f"(the conditions letter asks for {agreed or 'a priority stated in words'})",
    )
    if agreed is None or priority != agreed:
        raise SaleStopped(f"priority {priority} reached, {agreed} agreed: OppnaaddPrioritetOk not sent")
    reached = xml(documents.priority_reached(case, BANK_REFERENCE, DOCUMENT_REFERENCE, "payload.zip", now()))
    message = Reply("OppnaaddPrioritetOk", None, "", {f"oppnaaddprioritet_{case.reference}.xml": reached})
    await step(megler, message, case.buyers_bank.orgnr, bank)
    return log


def _payment_due(schema: OfficialSchema, files: dict[str, bytes], payday: date) -> Payment:
    """What the ``Innfrielsessaldosvar`` says to pay on ``payday``: account, KID and amount."""
    _, answer = schema.decode(_only_xml(files))
    loan = answer["laanliste"]["laan"][0]
    balances = {str(b["dato"]): int(float(b["beloep"])) for b in loan["saldoerPerDato"]["saldoPerDato"]}
    amount = balances.get(payday.isoformat())
    if amount is None:
        raise SaleStopped(f"the payoff names no amount for {payday}")
    return Payment(str(loan["kontonummer"]), str(loan.get("kidnummer") or ""), amount, payday)
