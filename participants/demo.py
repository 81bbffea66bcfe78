"""`dsve demo`: one whole property sale through the broker, printed as a settlement clerk's timeline.

The broker runs in this process on its real HTTP port with the embedded defaults (SQLite, in-process
transport) or on PostgreSQL and RabbitMQ when given; the megler, both banks and Kartverket are separate
participant systems that only talk to it through the SDK, exactly as they would from their own processes.
Then a second case that Kartverket refuses. The exit code says whether every expected step happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from aiohttp import web
from rich.console import Console

from broker.app import create_app
from broker.config import Settings
from broker.routing.transport import Transport
from broker.routing.transport_choice import create_transport
from participants.bank.simulator import DONE
from participants.cases import SaleCase, demo_sale_case
from participants.demo_output import LiveTimeline, print_case_messages, print_extract, print_refusals
from participants.deployment import Deployment, init_deployment
from participants.kartverket.register import LandRegister
from participants.kartverket.seed import DEMO_SALE, seed
from participants.parties import DemoSystems, build_demo_systems
from participants.runner import ParticipantRunner
from participants.sdk.client import BrokerClient
from participants.sdk.dedup import DedupStore

REGISTERED = "tinglyst"
STEP_TIMEOUT_S = 25.0


@dataclass(frozen=True, slots=True)
class DemoOptions:
    data_dir: Path | None = None
    database_url: str | None = None
    amqp_url: str | None = None
    amqp_prefix: str | None = None


@dataclass
class DemoResult:
    failures: list[str] = field(default_factory=list)
    messages: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures


def broker_settings(options: DemoOptions, data_dir: Path, deployment: Deployment) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=options.database_url or "",
        amqp_url=options.amqp_url,
        # A prefix of its own per run, so a demo never collides with a deployment on the same RabbitMQ.
        amqp_prefix=options.amqp_prefix or f"dsvedemo{uuid.uuid4().hex[:8]}",
        trust_ca_files=(deployment.pki.ca_cert_path,),
        participants_file=deployment.participants_file,
    )


async def wait_for(predicate: Callable[[], bool], what: str, result: DemoResult, changed: asyncio.Event) -> bool:
    """Wait until the systems reach a state: they act on their own, the demo only watches their timeline."""
    try:
        async with asyncio.timeout(STEP_TIMEOUT_S):
            while not predicate():
                changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), 0.2)
    except TimeoutError:
        result.failures.append(f"timed out waiting for: {what}")
        return False
    return True


class BrokerProcess:
    """The broker's HTTP service on a free loopback port, for the length of the demo."""

    def __init__(self, settings: Settings, transport: Transport | None) -> None:
        self.app = create_app(settings, transport=transport)
        self._runner = web.AppRunner(self.app, access_log=None)
        self.url = ""

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        await self._runner.cleanup()


async def run_demo(options: DemoOptions, console: Console) -> DemoResult:
    started = time.monotonic()
    if options.data_dir is not None:
        options.data_dir.mkdir(parents=True, exist_ok=True)
        return await _run_in(options.data_dir, options, console, started)
    with tempfile.TemporaryDirectory(prefix="dsve-demo-") as tmp:
        return await _run_in(Path(tmp), options, console, started)


async def _run_in(data_dir: Path, options: DemoOptions, console: Console, started: float) -> DemoResult:
    result = DemoResult()
    deployment = init_deployment(data_dir / "pki")
    settings = broker_settings(options, data_dir, deployment)
    shared_bus = None if settings.amqp_url else create_transport(settings)
    broker = BrokerProcess(settings, shared_bus)
    register = await LandRegister.open(f"sqlite+aiosqlite:///{(data_dir / 'grunnbok.db').resolve()}")
    await seed(register)
    timeline = LiveTimeline(console)
    # A reference of its own per run: a demo on a persistent PostgreSQL must not mix with earlier runs.
    sale = demo_sale_case(f"OPPGJ-{date.today():%Y}-{uuid.uuid4().hex[:6].upper()}", contract_date=date.today())
    systems = build_demo_systems(deployment.pki, sale, register, timeline)
    participants_bus = create_transport(settings) if settings.amqp_url else shared_bus
    clients: dict[str, BrokerClient] = {}
    runners: list[ParticipantRunner] = []
    transport_name = "RabbitMQ" if settings.amqp_url else "in-process transport"
    store_name = "PostgreSQL" if "postgresql" in settings.effective_database_url else "SQLite"
    console.rule(f"[bold]DSVE demo[/]: broker on {store_name} with {transport_name}")
    try:
        await broker.start()
        if participants_bus is not shared_bus and participants_bus is not None:
            await participants_bus.start()
        for orgnr, handler in systems.handlers.items():
            client = BrokerClient(broker.url, orgnr, deployment.pki.credential(orgnr))
            clients[orgnr] = client
            dedup = DedupStore(f"sqlite+aiosqlite:///{(data_dir / f'handled-{orgnr}.db').resolve()}")
            runner = ParticipantRunner(client, handler, participants_bus, dedup)
            await runner.start()
            runners.append(runner)
        await _first_case(systems, clients, result, console, timeline.changed)
        await _second_case(systems, clients, result, console, timeline.changed)
        await _await_confirmations(clients, sale, result)
        await print_case_messages(console, clients[sale.megler.orgnr], sale.reference, deployment)
        result.messages = len(await clients[sale.megler.orgnr].case(sale.reference))
    finally:
        for runner in runners:
            await runner.stop()
        for client in clients.values():
            await client.close()
        if participants_bus is not shared_bus and participants_bus is not None:
            await participants_bus.close()
        await broker.stop()
        await register.close()
        if settings.amqp_url and options.amqp_prefix is None:
            await _delete_run_topology(settings, systems.handlers)
    result.seconds = time.monotonic() - started
    return result


async def _delete_run_topology(settings: Settings, orgnrs: Iterable[str]) -> None:
    """A demo on a shared RabbitMQ leaves nothing behind under the prefix it made up for itself."""
    import aio_pika

    from broker.routing.topology import Topology, delete_topology

    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        await delete_topology(await connection.channel(), Topology(settings.amqp_prefix), orgnrs)


async def _first_case(
    systems: DemoSystems, clients: dict[str, BrokerClient], result: DemoResult, console: Console, changed: asyncio.Event
) -> None:
    sale, megler = systems.sale, systems.megler
    console.rule(f"Sak {sale.reference}: {sale.address}, {sale.unit}")
    case = megler.open_case(sale)
    await clients[sale.megler.orgnr].send(megler.send_financing_check(case))
    registered = await wait_for(lambda: case.status == REGISTERED, "the deed to be registered", result, changed)
    banks_done = await wait_for(
        lambda: (
            all(c.status == DONE for b in (systems.buyers_bank, systems.sellers_bank) for c in b.cases.values())
            and bool(systems.buyers_bank.cases)
            and bool(systems.sellers_bank.cases)
        ),
        "both banks to close their cases",
        result,
        changed,
    )
    if not (registered and banks_done):
        return
    extract = await systems.register.extract(DEMO_SALE.unit)
    print_extract(console, extract)
    owners = {share.holder.ident for share in extract.owners}
    expected = {p.fodselsnummer for p in sale.buyer_persons}
    if owners != expected:
        result.failures.append("the land register does not show the buyers as the new owners")
    if not any(right.holder is not None and right.holder.ident == sale.buyers_bank.orgnr for right in extract.rights):
        result.failures.append("the land register does not show the buyers' bank's new mortgage")


async def _second_case(
    systems: DemoSystems, clients: dict[str, BrokerClient], result: DemoResult, console: Console, changed: asyncio.Event
) -> None:
    """The sellers try to sell the flat again after the transfer is registered: Kartverket must refuse."""
    first = systems.megler.cases.get(systems.sale.reference)
    if first is None or first.mortgage is None:
        result.failures.append("the second case needs the first case's mortgage deed")
        return
    again: SaleCase = dataclasses.replace(systems.sale, reference=f"{systems.sale.reference}-B")
    console.rule(f"Sak {again.reference}: nytt salg av {again.address} fra tidligere hjemmelshavere")
    case = systems.megler.open_case(again)
    case.mortgage, case.deletions, case.debt_answered = first.mortgage, list(first.deletions), True
    await clients[again.megler.orgnr].send(systems.megler.send_deed_package(case))
    if await wait_for(
        lambda: case.status.startswith("tinglysing "), "Kartverket's answer to the second case", result, changed
    ):
        print_refusals(console, case.status, case.refusals)
        if case.status == f"tinglysing {REGISTERED.upper()}" or not case.refusals:
            result.failures.append("Kartverket did not refuse the second case with its reasons")


async def _await_confirmations(clients: dict[str, BrokerClient], sale: SaleCase, result: DemoResult) -> None:
    """Every message of the sale ends confirmed by its recipient: nothing is left in anyone's box."""

    async def unconfirmed() -> int:
        return sum(1 for m in await clients[sale.megler.orgnr].case(sale.reference) if m.status != "confirmed")

    left = await unconfirmed()
    for _ in range(int(STEP_TIMEOUT_S / 0.05)):
        if not left:
            return
        await asyncio.sleep(0.05)
        left = await unconfirmed()
    if left:
        result.failures.append(f"{left} messages of {sale.reference} were never confirmed by their recipients")
