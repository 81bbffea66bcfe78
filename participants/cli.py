"""The participant systems' commands (`dsve demo`, `dsve sim ...`), plugged into the `dsve` command."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the demo and simulator subcommands."""
