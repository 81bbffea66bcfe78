"""`dsve sim init|kartverket|bank|megler`: each participant system as its own process against a broker.

They read the same environment as the broker (DSVE_AMQP_URL, DSVE_AMQP_PREFIX, DSVE_DATA_DIR) plus
DSVE_BROKER_URL, DSVE_PKI_DIR and DSVE_SIM_DATABASE_URL; with DSVE_AMQP_URL they consume their queue,
without it they poll their inbox over HTTP.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from participants.deployment import BUYERS_BANK, SELLERS_BANK
from participants.kartverket.etinglysing.cases import register_cases


def register_sim(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = subparsers.add_parser("sim", help="run a participant simulator as its own process")
    kinds = sim.add_subparsers(dest="sim_command", metavar="SYSTEM", required=True)

    init = kinds.add_parser("init", help="write a demo PKI and participants.toml for a deployment")
    init.add_argument("directory", type=Path)
    init.set_defaults(func=_init)

    for name, help_text in (
        ("kartverket", "the land registry: registers deed packages against its own land register"),
        ("bank", "the demo banks: financing, debt, payoff, mortgage deeds, deletion declarations"),
        ("megler", "the estate agent: holds the demo sale and drives it"),
    ):
        parser = kinds.add_parser(name, help=help_text)
        parser.add_argument("--broker-url", default=os.environ.get("DSVE_BROKER_URL", "http://127.0.0.1:8080"))
        parser.add_argument("--pki-dir", type=Path, default=None, help="default: DSVE_PKI_DIR or <data dir>/pki")
        parser.add_argument("--database-url", default=os.environ.get("DSVE_SIM_DATABASE_URL"))
        parser.add_argument("--poll-interval", type=float, default=1.0)
        parser.set_defaults(func=_run, system=name)
    kinds.choices["bank"].add_argument(
        "--orgnr", action="append", choices=(BUYERS_BANK, SELLERS_BANK), help="which demo bank (default: both)"
    )
    register_cases(kinds)
    kinds.choices["megler"].add_argument(
        "--grunnbok-url",
        default=os.environ.get("DSVE_SIM_GRUNNBOK_URL"),
        help="the Kartverket simulator's database, read for the priority a mortgage has reached",
    )
    kinds.choices["megler"].add_argument(
        "--start-demo-case", action="store_true", help="open the demo sale and send its first message at start"
    )


def _init(args: argparse.Namespace) -> int:
    from participants.deployment import init_deployment

    deployment = init_deployment(args.directory)
    print(f"PKI and participants file written: {deployment.participants_file}")
    return 0


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from broker.config import Settings
    from participants.sim_process import SimOptions, run_simulator

    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    pki_dir = args.pki_dir or Path(os.environ.get("DSVE_PKI_DIR") or settings.data_dir / "pki")
    options = SimOptions(
        system=args.system,
        broker_url=args.broker_url.rstrip("/"),
        pki_dir=pki_dir,
        database_url=args.database_url,
        poll_interval=args.poll_interval,
        bank_orgnrs=tuple(getattr(args, "orgnr", None) or (BUYERS_BANK, SELLERS_BANK)),
        start_demo_case=getattr(args, "start_demo_case", False),
        grunnbok_url=getattr(args, "grunnbok_url", None),
    )
    try:
        asyncio.run(run_simulator(settings, options))
    except KeyboardInterrupt:
        return 0
    return 0
