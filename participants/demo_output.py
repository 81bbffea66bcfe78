"""How the demo reads on a terminal: the timeline as it happens, the broker's view of the case, the land
register extract, and Kartverket's reasons for a refusal."""

from __future__ import annotations

import asyncio

from rich.console import Console
from rich.table import Table

from participants.cases import CaseEvent, Timeline
from participants.deployment import Deployment
from participants.kartverket.extract import format_extract
from participants.kartverket.model import Grunnboksutskrift
from participants.sdk.client import BrokerClient

ACTOR_STYLES = {"Fjordmegleren": "cyan", "Nordlys": "green", "Fjellkysten": "yellow", "Kartverket": "magenta"}


def _style(actor: str) -> str:
    return next((style for prefix, style in ACTOR_STYLES.items() if actor.startswith(prefix)), "white")


class LiveTimeline(Timeline):
    """The shared timeline of the demo's systems, printed line by line as the systems act."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console
        # Set on every event: the demo waits on it instead of polling the systems' state.
        self.changed = asyncio.Event()

    def add(self, actor: str, case_reference: str, text: str) -> CaseEvent:
        event = super().add(actor, case_reference, text)
        local = event.at.astimezone()
        self.console.print(
            f"[dim]{local:%H:%M:%S.%f}"[:-3] + "[/]",
            f"[bold {_style(actor)}]{actor:<26}[/]",
            text,
            highlight=False,
        )
        self.changed.set()
        return event


async def print_case_messages(console: Console, client: BrokerClient, reference: str, deployment: Deployment) -> None:
    """The broker's own record of the case: every message, who sent it to whom, and where it stands."""
    names = {orgnr: cert.cert_path.stem for orgnr, cert in deployment.pki.enterprise.items()}
    names.update(_demo_names())
    table = Table(title=f"Meldinger i saken {reference} (brokerens oversikt)", title_justify="left")
    for column in ("#", "meldingstype", "fra", "til", "størrelse", "status"):
        table.add_column(column)
    for number, message in enumerate(await client.case(reference), start=1):
        table.add_row(
            str(number),
            message.message_type,
            names.get(message.sender, message.sender),
            names.get(message.recipient, message.recipient),
            f"{message.size or 0:,} B".replace(",", "\u00a0"),
            message.status,
        )
    console.print(table)


def _demo_names() -> dict[str, str]:
    from broker.xml.pki import DEMO_ORGANISATIONS

    return dict(DEMO_ORGANISATIONS)


def print_extract(console: Console, extract: Grunnboksutskrift) -> None:
    console.print()
    for number, line in enumerate(format_extract(extract)):
        console.print(f"[bold]{line}[/]" if number == 0 else line, highlight=False)
    console.print()


def print_refusals(console: Console, status: str, refusals: list[str]) -> None:
    console.print(f"[bold red]Kartverket: {status.removeprefix('tinglysing ')}[/]")
    for refusal in refusals:
        console.print(f"  [red]•[/] {refusal}", highlight=False)
