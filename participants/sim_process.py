"""One simulator process: its systems, their runners, and a clean stop on SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine

from broker.config import Settings
from broker.routing.transport import Transport
from broker.routing.transport_choice import create_transport
from participants.cases import Timeline, demo_sale_case
from participants.deployment import KARTVERKET, MEGLER, open_deployment
from participants.kartverket.etinglysing.altinn import start_receiver
from participants.kartverket.priority import register_priority
from participants.kartverket.register import LandRegister
from participants.kartverket.seed import seed
from participants.parties import (
    bank_handler,
    build_buyers_bank,
    build_megler,
    build_sellers_bank,
    kartverket_handler,
)
from participants.runner import ParticipantRunner, SystemHandler
from participants.sdk.client import BrokerClient
from participants.sdk.dedup import DedupStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SimOptions:
    system: str
    broker_url: str
    pki_dir: Path
    database_url: str | None
    poll_interval: float
    bank_orgnrs: tuple[str, ...]
    start_demo_case: bool
    grunnbok_url: str | None = None


def _sqlite_url(settings: Settings, name: str) -> str:
    return f"sqlite+aiosqlite:///{(settings.data_dir / name).resolve()}"


async def run_simulator(settings: Settings, options: SimOptions) -> None:
    pki = open_deployment(options.pki_dir).pki
    sale = demo_sale_case()
    timeline = Timeline()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    register: LandRegister | None = None
    handlers: dict[str, SystemHandler] = {}
    megler = None
    if options.system == "kartverket":
        register = await LandRegister.open(options.database_url or _sqlite_url(settings, "grunnbok.db"))
        await seed(register)
        handlers[KARTVERKET] = kartverket_handler(pki, register, KARTVERKET)
    elif options.system == "bank":
        builders = {sale.buyers_bank.orgnr: build_buyers_bank, sale.sellers_bank.orgnr: build_sellers_bank}
        for orgnr in options.bank_orgnrs:
            handlers[orgnr] = bank_handler(builders[orgnr](pki, sale, timeline, sale.contract_date.today))
    else:
        lookup = None
        if options.grunnbok_url:
            # read only, and never created here: the Kartverket simulator owns and seeds that database
            register = LandRegister(create_async_engine(options.grunnbok_url))
            lookup = register_priority(register)
        megler = build_megler(pki, sale, timeline, sale.contract_date.today, lookup)
        handlers[MEGLER] = megler.handle_raw
    transport: Transport | None = create_transport(settings) if settings.amqp_url else None
    runners: list[ParticipantRunner] = []
    stop = asyncio.Event()
    receiver: asyncio.Task[None] | None = None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        if transport is not None:
            await transport.start()
        if options.system == "kartverket" and register is not None:
            receiver = await start_receiver(options.broker_url, KARTVERKET, pki.credential(KARTVERKET), register, stop)
        for orgnr, handler in handlers.items():
            client = BrokerClient(options.broker_url, orgnr, pki.credential(orgnr))
            dedup = DedupStore(_sqlite_url(settings, f"handled-{orgnr}.db")) if transport else None
            runner = ParticipantRunner(client, handler, transport, dedup, options.poll_interval)
            await runner.start()
            runners.append(runner)
            log.info("%s simulator %s receiving via %s", options.system, orgnr, "AMQP" if transport else "HTTP")
        if megler is not None and options.start_demo_case:
            case = megler.open_case(sale)
            await runners[0].client.send(megler.send_financing_check(case))
        await stop.wait()
    finally:
        stop.set()
        if receiver is not None:
            with contextlib.suppress(Exception):
                await receiver
        for runner in runners:
            await runner.stop()
            await runner.client.close()
        if transport is not None:
            with contextlib.suppress(Exception):
                await transport.close()
        if register is not None:
            await register.close()
