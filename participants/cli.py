"""The participant systems' commands (`dsve demo`, `dsve sim ...`), plugged into the `dsve` command.

Imports stay inside the commands: `dsve` loads this module whenever a command is not a built-in one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the demo and simulator subcommands."""
    demo = subparsers.add_parser("demo", help="run a whole property sale through the broker and print it")
    demo.add_argument("--data-dir", type=Path, help="keep the demo's files here (default: a temporary directory)")
    demo.add_argument("--database-url", help="the broker's database (default: SQLite in the data directory)")
    demo.add_argument("--amqp-url", help="route over this RabbitMQ (default: the in-process transport)")
    demo.add_argument("--amqp-prefix", help="prefix of the exchanges and queues (default: unique per run)")
    demo.add_argument(
        "--profile",
        choices=("native", "dsve"),
        default="native",
        help="native: signed XML on /api/v1; dsve: the official DSVE messages over the Altinn-compatible API",
    )
    demo.add_argument(
        "--schema-dir", type=Path, help="--profile dsve: the dsve.xsd directory (default: DSVE_SCHEMA_SETS dsve=)"
    )
    demo.add_argument(
        "--kartverket-schema-dir",
        type=Path,
        help="--profile dsve: the innsending.xsd directory (default: DSVE_SCHEMA_SETS etinglysing=)",
    )
    demo.set_defaults(func=_demo)

    from participants.sim_commands import register_sim

    register_sim(subparsers)


def _demo(args: argparse.Namespace) -> int:
    import asyncio

    from rich.console import Console

    from broker.startup import StartupError
    from participants.demo import DemoOptions, run_demo

    console = Console(highlight=False)
    try:
        if args.profile == "dsve":
            return _official_demo(args, console)
        options = DemoOptions(args.data_dir, args.database_url, args.amqp_url, args.amqp_prefix)
        result = asyncio.run(run_demo(options, console))
    except StartupError as exc:  # a setting or directory the user gave: said as such, without a traceback
        print(f"dsve demo: cannot start the broker: {exc}", file=sys.stderr)
        return 2
    if result.ok:
        console.print(f"[bold green]Demo fullført[/]: {result.messages} meldinger i saken, {result.seconds:.1f} s")
        return 0
    for failure in result.failures:
        console.print(f"[bold red]FEIL[/]: {failure}")
    return 1


def _official_demo(args: argparse.Namespace, console: Any) -> int:
    import asyncio

    from broker.config import Settings
    from participants.official.demo import run_official_demo

    configured = dict(Settings.from_env().schema_sets)
    schema_dir = args.schema_dir or configured.get("dsve")
    kartverket_dir = args.kartverket_schema_dir or configured.get("etinglysing")
    if schema_dir is None or kartverket_dir is None:
        console.print(
            "[bold red]FEIL[/]: --profile dsve needs the dsve.xsd directory "
            "(--schema-dir or DSVE_SCHEMA_SETS=dsve=DIR) and the innsending.xsd directory "
            "(--kartverket-schema-dir or DSVE_SCHEMA_SETS=etinglysing=DIR)"
        )
        return 2
    ok = asyncio.run(run_official_demo(Path(schema_dir), Path(kartverket_dir), console, args.data_dir))
    console.print(
        "[bold green]Demo fullført[/] (offisiell DSVE-profil)" if ok else "[bold red]FEIL[/]: the sale did not complete"
    )
    return 0 if ok else 1
