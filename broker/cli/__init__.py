"""The ``dsve`` command. Each module of this package registers one group of subcommands.

Commands are thin: they parse arguments and call use cases; exit codes are 0 ok, 1 a finding
(an invalid file, a failed check), 2 usage or an unreadable input.

Start-up is part of every command's cost (``dsve validate`` on one file is mostly start-up), so building
the parser imports only argparse-level code: each command module imports its heavy dependencies inside
its command functions, and the plug-ins are looked up only when the command is not a built-in one
(the entry-point scan reads the metadata of every installed distribution).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules that each define ``register(subparsers)``; a command sets ``func`` returning an exit code.
COMMAND_MODULES = (
    "broker.cli.schema_commands",
    "broker.cli.signature_commands",
    "broker.cli.server_commands",
    "broker.cli.db_commands",
    "broker.cli.participant_commands",
    "broker.cli.console_commands",
)


# Commands that live outside the broker (the simulators, the demo) plug in through this entry-point
# group, so the broker package never imports the participant systems.
PLUGIN_GROUP = "dsve.commands"


def _register_plugins(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from importlib.metadata import entry_points

    for entry_point in entry_points(group=PLUGIN_GROUP):
        entry_point.load()(subparsers)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``dsve`` parser; with ``argv`` naming a built-in command, without the plug-ins' commands.

    Without ``argv``, or when its first word is no built-in command (a plug-in's command, a typo, or
    ``--help``, which lists every command), the plug-ins are registered too.
    """
    parser = argparse.ArgumentParser(prog="dsve", description="dsve-broker: signed XML messages for DSVE.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    if not argv or argv[0] not in subparsers.choices:
        _register_plugins(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
