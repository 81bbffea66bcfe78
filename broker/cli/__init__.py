"""The ``dsve`` command. Each module of this package registers one group of subcommands.

Commands are thin: they parse arguments and call use cases; exit codes are 0 ok, 1 a finding
(an invalid file, a failed check), 2 usage or an unreadable input.

Start-up is part of every command's cost (``dsve validate`` on one file is mostly start-up), so a built-in
command builds its own parser only: each command module imports its heavy dependencies inside
its command functions, every sub-parser costs argparse a few message-catalogue look-ups, and the plug-ins
are looked up only when the command is not a built-in one (the entry-point scan reads the metadata of
every installed distribution).

``dsve validate`` run as a program (``main()`` without arguments) is one pass over its files with nothing
to clean up, so it runs without the cyclic garbage collector (the imports alone trigger a dozen collections
of objects that live until the end) and ends without the interpreter's teardown, which frees every module,
schema and parser one object at a time: together about a fifth of a one-file run's CPU time.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence

# Each built-in command and where the function that adds it is (``module`` for ``module:register``, or
# ``module:function``); a command sets ``func`` returning an exit code. A test checks that each function
# adds exactly the commands listed for it.
COMMANDS = {
    "validate": "broker.cli.schema_commands",
    "schemas": "broker.cli.schema_commands:register_schemas",
    "sign": "broker.cli.signature_commands",
    "verify": "broker.cli.signature_commands",
    "pki": "broker.cli.signature_commands",
    "serve": "broker.cli.server_commands",
    "db": "broker.cli.db_commands",
    "participants": "broker.cli.participant_commands",
    "console": "broker.cli.console_commands",
}
REGISTRARS = tuple(dict.fromkeys(COMMANDS.values()))


def _register(registrar: str, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    module, _, function = registrar.partition(":")
    getattr(importlib.import_module(module), function or "register")(subparsers)


# Commands that live outside the broker (the simulators, the demo) plug in through this entry-point
# group, so the broker package never imports the participant systems.
PLUGIN_GROUP = "dsve.commands"


def _register_plugins(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from importlib.metadata import entry_points

    for entry_point in entry_points(group=PLUGIN_GROUP):
        entry_point.load()(subparsers)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``dsve`` parser; with ``argv`` naming a built-in command, the commands its function adds only.

    Without ``argv``, or when its first word is no built-in command (a plug-in's command, a typo, or
    ``--help``, which lists every command), every module's commands and the plug-ins' are registered.
    """
    parser = argparse.ArgumentParser(prog="dsve", description="dsve-broker: signed XML messages for DSVE.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    registrar = COMMANDS.get(argv[0]) if argv else None
    if registrar is not None:
        _register(registrar, subparsers)
        return parser
    for registrar in REGISTRARS:
        _register(registrar, subparsers)
    _register_plugins(subparsers)
    return parser


# Commands that, run as the program, may skip the garbage collector and the interpreter's teardown: they
# register no exit handlers, leave no files or processes behind, and write only to stdout and stderr.
ONE_SHOT = frozenset({"validate"})


def main(argv: Sequence[str] | None = None) -> int:
    one_shot = False
    if argv is None:
        argv = sys.argv[1:]
        one_shot = bool(argv) and argv[0] in ONE_SHOT
    if one_shot:
        gc.disable()
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    code = int(args.func(args))
    if one_shot:
        _exit_now(code)
    return code


def _exit_now(code: int) -> None:
    """Flush what was written, then end the process without the interpreter's teardown."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: the reader left; exit as the interpreter would on it
        code = code or 1
    os._exit(code)


if __name__ == "__main__":
    raise SystemExit(main())
