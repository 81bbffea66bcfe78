"""The ``dsve`` dispatcher: the table of built-in commands matches what their functions register."""

from __future__ import annotations

import argparse

import pytest

from broker.cli import COMMANDS, REGISTRARS, _register, build_parser


def _registered(registrar: str) -> set[str]:
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    _register(registrar, subparsers)
    return set(subparsers.choices)


@pytest.mark.parametrize("registrar", REGISTRARS)
def test_each_function_registers_exactly_the_commands_the_table_gives_it(registrar: str) -> None:
    assert _registered(registrar) == {name for name, owner in COMMANDS.items() if owner == registrar}


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    (subparsers,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(subparsers.choices)


def test_a_built_in_command_builds_its_own_parser_only() -> None:
    assert _commands(build_parser(["validate", "x.xml"])) == {"validate"}
    assert _commands(build_parser(["schemas", "list"])) == {"schemas"}
    assert _commands(build_parser(["pki", "init", "d"])) == {"sign", "verify", "pki"}


def test_help_and_plug_in_commands_see_every_command() -> None:
    everything = _commands(build_parser(["--help"]))
    assert set(COMMANDS) <= everything
    assert {"demo", "sim"} <= everything  # the participant systems' plug-ins
    assert _commands(build_parser(["demo"])) == everything
    assert _commands(build_parser([])) == everything
