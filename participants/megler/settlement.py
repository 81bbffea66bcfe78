"""The megler's settlement around registration, in the order that keeps everyone's security:

1. the transfer and the buyers' mortgage are registered (the mortgage stands behind the sellers' bank's);
   the buyers' bank is told (``gjennomfoertTinglysing``);
2. the megler pays the sellers' loan off from the settlement account, and only then sends the sellers'
   bank's deletion to Kartverket;
3. with the deletion registered the sellers' bank is told, and the buyers' bank learns the priority its
   mortgage has reached, as read from the grunnbok (``oppnaaddPrioritet``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from broker.xml.keys import SigningCredential
from participants.cases import kroner
from participants.megler.case import DELETION, MORTGAGE, MeglerCase
from participants.messages import megler_messages as out
from participants.messages.envelope import ReceivedMessage
from participants.messages.header import Header
from participants.messages.model import RegisteredDocument, Registerenhet, RightReference, as_list

REGISTERED = "TINGLYST"

PriorityLookup = Callable[[Registerenhet, RightReference], Awaitable[int | None]]


class MeglerSimulator(Protocol):
    """What the settlement steps use of the megler's simulator (``participants.megler.simulator``)."""

    credential: SigningCredential
    priority_lookup: PriorityLookup | None

    def _note(self, case: MeglerCase | str, text: str) -> None: ...

    def _to_buyers_bank(self, case: MeglerCase) -> Header: ...

    def _to_sellers_bank(self, case: MeglerCase) -> Header: ...

    def _case_of(self, message: ReceivedMessage) -> MeglerCase | None: ...

    def send_deletion_package(self, case: MeglerCase, operation: str = ...) -> bytes: ...


async def on_forsendelsesstatus(megler: MeglerSimulator, message: ReceivedMessage) -> list[bytes]:
    case = megler._case_of(message)
    if case is None:
        return []
    body = message.body
    status, outcome = str(body["status"]), body.get("utfall")
    if status != "AVSLUTTET":
        megler._note(case, f"Kartverket: {status}")
        return []
    results = as_list((body.get("kontrollresultater") or {}).get("kontrollresultat"))
    if outcome != REGISTERED:
        case.status = f"tinglysing {outcome}"
        case.refusals = [f"{r.get('dokumentindeks', '-')}: {r['kode']} {r['tekst']}" for r in results]
        megler._note(case, f"Kartverket: {outcome}; " + "; ".join(case.refusals))
        return []
    documents = [
        RegisteredDocument.from_data(d)
        for d in as_list((body.get("tinglysteDokumenter") or {}).get("tinglystDokument"))
    ]
    case.registered.update((d.document_reference, d) for d in documents)
    megler._note(case, "Kartverket: TINGLYST " + ", ".join(f"{d.year}/{d.document_number}" for d in documents))
    references = {d.document_reference for d in documents}
    notices: list[bytes] = []
    if case.document_reference(MORTGAGE) in references:
        notices += mortgage_registered(megler, case)
        if case.deletions:
            megler._note(
                case,
                f"innfrielse {kroner(case.payoff_amount or 0)} betalt til {case.sale.sellers_bank.name}; "
                "slettingen sendes til tinglysing",
            )
            case.status = "innfridd"
            return [*notices, megler.send_deletion_package(case)]
    deletions = [d for ref, d in case.registered.items() if ref.startswith(case.document_prefix(DELETION))]
    if any(d.document_reference in references for d in deletions):
        notices.append(
            out.gjennomfoert_tinglysing(
                megler._to_sellers_bank(case), megler.credential, (case.sale.unit,), tuple(deletions)
            )
        )
        megler._note(case, f"melder gjennomført sletting til {case.sale.sellers_bank.name}")
    case.status = "tinglyst"
    return notices + await priority_reached(megler, case)


def mortgage_registered(megler: MeglerSimulator, case: MeglerCase) -> list[bytes]:
    mortgage = case.registered[case.document_reference(MORTGAGE)]
    megler._note(case, f"melder tinglyst pantedokument til {case.sale.buyers_bank.name}")
    return [
        out.gjennomfoert_tinglysing(megler._to_buyers_bank(case), megler.credential, (case.sale.unit,), (mortgage,))
    ]


async def priority_reached(megler: MeglerSimulator, case: MeglerCase) -> list[bytes]:
    """The buyers' mortgage's place in the grunnbok, read there, told to the buyers' bank."""
    mortgage = case.registered.get(case.document_reference(MORTGAGE))
    if mortgage is None:
        return []
    lookup = megler.priority_lookup
    priority = await lookup(case.sale.unit, mortgage.right()) if lookup is not None else None
    if priority is None:
        megler._note(case, "oppnådd prioritet kan ikke leses i grunnboken; ikke meldt")
        return []
    megler._note(case, f"melder oppnådd prioritet {priority} til {case.sale.buyers_bank.name}")
    registered_at = max(d.registered for d in case.registered.values())
    return [
        out.oppnaadd_prioritet(
            megler._to_buyers_bank(case), megler.credential, case.sale.unit, mortgage.right(), priority, registered_at
        )
    ]
