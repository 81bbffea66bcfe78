"""The ``dsve`` command. Each module of this package registers one group of subcommands.

Commands are thin: they parse arguments and call use cases; exit codes are 0 ok, 1 a finding
(an invalid file, a failed check), 2 usage or an unreadable input.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

# Modules that each define ``register(subparsers)``; a command sets ``func`` returning an exit code.
COMMAND_MODULES = (
    "broker.cli.schema_commands",
    "broker.cli.signature_commands",
    "broker.cli.server_commands",
    "broker.cli.db_commands",
    "broker.cli.participant_commands",
)


# Commands that live outside the broker (the simulators, the demo) plug in through this entry-point
# group, so the broker package never imports the participant systems.
PLUGIN_GROUP = "dsve.commands"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dsve", description="dsve-broker: signed XML messages for DSVE.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    for entry_point in entry_points(group=PLUGIN_GROUP):
        entry_point.load()(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
