"""A sale in the official DSVE profile between simulators over the Altinn-compatible API (resource ``kv_dsve``).

The buyers' bank asks the megler about the registration method and gets ``RutetSuksessfullt``; the megler asks
the sellers' bank for the outstanding debt; the buyers' bank sends its mortgage deed and gets
``RoutedSuccessfully``; the megler reports the registration and then the priority reached. Every step is a
transfer the broker checks against the official schema and the conversation rules; each party finds its
transfers by searching the API, reads the ZIP, answers and confirms, as a real system does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from broker.xml.keys import SigningCredential
from participants.cases import SaleCase
from participants.kartverket.etinglysing.official import KartverketRegistration
from participants.official import documents
from participants.official.inbox import Handler, OfficialInbox
from participants.official.responders import Loan, MeglerResponder, Reply, SellersBankResponder
from participants.official.schema import OfficialSchema
from participants.sdk.file_transfer_client import FileTransferClient
from participants.sdk.file_transfer_models import FileTransferOverview

RESOURCE = "kv_dsve"
BANK_REFERENCE = "LAAN-2026-0412"
DOCUMENT_REFERENCE = "NLS-2026-0412-9057"


@dataclass
class SaleLog:
    """What each party received: (messageType, status) in order, for the demo's timeline and its checks."""

    lines: list[str] = field(default_factory=list)
    received: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    files: dict[str, list[dict[str, bytes]]] = field(default_factory=dict)

    def note(self, who: str, overview: FileTransferOverview) -> None:
        kind = overview.property_list.get("messageType", "?")
        status = overview.property_list.get("status", "")
        self.received.setdefault(who, []).append((kind, status))
        self.lines.append(f"{who:<14} received {kind}{' ' + status if status else ''}")


def _recording(log: SaleLog, who: str, answer: Callable[[dict[str, bytes]], Reply] | None = None) -> Handler:
    async def handle(overview: FileTransferOverview, files: dict[str, bytes]) -> Reply | None:
        log.note(who, overview)
        log.files.setdefault(who, []).append(files)
        return answer(files) if answer is not None else None

    return handle


def _only_xml(files: dict[str, bytes]) -> bytes:
    return next(data for name, data in files.items() if name.lower().endswith(".xml"))


async def run_official_sale(
    case: SaleCase,
    schema: OfficialSchema,
    clients: dict[str, FileTransferClient],
    settle: Callable[[], Awaitable[None]],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    kartverket: KartverketRegistration | None = None,
    deed_signers: Sequence[SigningCredential] = (),
) -> SaleLog:
    """Run the sale; ``clients`` by role (``bank``, ``megler``, ``sellers_bank``); ``settle`` lets the broker
    finish publishing between steps (a short wait in a demo, nothing in a test with an in-process broker).
    With ``kartverket`` the megler registers the deed and the mortgage there and passes Kartverket's final
    forsendelsesstatus on with ``GjennomfoertEtinglysing``. ``deed_signers``: the mortgagors' credentials that
    sign the mortgage deed (the broker refuses a deed its mortgagors have not signed)."""
    log = SaleLog()
    megler_answers = MeglerResponder(schema, [case], now)
    debt_answers = SellersBankResponder(schema, [case], [Loan(case.unit, "12345678903", 1_850_000)])
    bank = OfficialInbox(
        clients["bank"],
        case.buyers_bank.orgnr,
        RESOURCE,
        {
            "IntensjonssvarFraMegler": _recording(log, "buyers' bank"),
            "SignedMortgageDeedProcessed": _recording(log, "buyers' bank"),
            "GjennomfoertEtinglysing": _recording(log, "buyers' bank"),
            "OppnaaddPrioritetOk": _recording(log, "buyers' bank"),
        },
    )
    megler = OfficialInbox(
        clients["megler"],
        case.megler.orgnr,
        RESOURCE,
        {
            "IntensjonFraBank": _recording(log, "megler", lambda files: megler_answers.on_intention(_only_xml(files))),
            "SignedMortgageDeed": _recording(
                log, "megler", lambda files: megler_answers.on_mortgage_deed({"coverLetter": "Omitted"}, files)
            ),
            "Restgjeldssvar": _recording(log, "megler"),
        },
    )
    sellers_bank = OfficialInbox(
        clients["sellers_bank"],
        case.sellers_bank.orgnr,
        RESOURCE,
        {
            "Restgjeldsforespoersel": _recording(
                log, "sellers' bank", lambda files: debt_answers.on_debt_request(_only_xml(files))
            ),
        },
    )

    async def step(sender: OfficialInbox, reply: Reply, to: str, *then: OfficialInbox) -> None:
        await sender.send(reply, [to])
        for inbox in then:
            await settle()
            await inbox.poll_once()

    intention = schema.encode(*documents.intention_from_bank(case, BANK_REFERENCE, now()))
    await step(
        bank, Reply("IntensjonFraBank", None, "", {"intensjonfrabank.xml": intention}), case.megler.orgnr, megler, bank
    )
    debt = schema.encode(*documents.debt_request(case, now()))
    await step(
        megler,
        Reply("Restgjeldsforespoersel", None, "", {f"restgjeldsforespoersel_{case.reference}.xml": debt}),
        case.sellers_bank.orgnr,
        sellers_bank,
        megler,
    )
    deed = Reply(
        "SignedMortgageDeed",
        None,
        "",
        {"signedmortgagedeed_1.xml": documents.deed_stand_in(case, DOCUMENT_REFERENCE, deed_signers)},
        {"coverLetter": "Omitted"},
    )
    await step(bank, deed, case.megler.orgnr, megler, bank)
    status_files: dict[str, bytes] = {}
    if kartverket is not None:
        status = await kartverket.register(case, case.reference, settle)
        status_files[f"forsendelsesstatus_{case.reference}.xml"] = status
        log.lines.append(f"{'megler':<14} received forsendelsesstatus TINGLYST from Kartverket")
    registered = schema.encode(
        *documents.registration_done(
            case, BANK_REFERENCE, DOCUMENT_REFERENCE, "payload.zip", now(), next(iter(status_files), None)
        )
    )
    await step(
        megler,
        Reply(
            "GjennomfoertEtinglysing",
            None,
            "",
            {f"gjennomfoertetinglysing_{case.reference}.xml": registered, **status_files},
        ),
        case.buyers_bank.orgnr,
        bank,
    )
    priority = schema.encode(
        *documents.priority_reached(case, BANK_REFERENCE, DOCUMENT_REFERENCE, "payload.zip", now())
    )
    await step(
        megler,
        Reply("OppnaaddPrioritetOk", None, "", {f"oppnaaddprioritet_{case.reference}.xml": priority}),
        case.buyers_bank.orgnr,
        bank,
    )
    return log
