"""The ``dsve`` dispatcher: the table of built-in commands matches what their modules register."""

from __future__ import annotations

import argparse
import importlib

import pytest

from broker.cli import COMMAND_MODULES, COMMANDS, build_parser


def _registered(module: str) -> set[str]:
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    importlib.import_module(module).register(subparsers)
    return set(subparsers.choices)


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_each_module_registers_exactly_the_commands_the_table_gives_it(module: str) -> None:
    assert _registered(module) == {name for name, owner in COMMANDS.items() if owner == module}


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    (subparsers,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(subparsers.choices)


def test_a_built_in_command_builds_its_own_modules_commands_only() -> None:
    assert _commands(build_parser(["validate", "x.xml"])) == {"validate", "schemas"}
    assert _commands(build_parser(["db", "current"])) == {"db"}


def test_help_and_plug_in_commands_see_every_command() -> None:
    everything = _commands(build_parser(["--help"]))
    assert set(COMMANDS) <= everything
    assert {"demo", "sim"} <= everything  # the participant systems' plug-ins
    assert _commands(build_parser(["demo"])) == everything
    assert _commands(build_parser([])) == everything
