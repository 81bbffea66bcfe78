"""The README stays true: every configuration variable the code reads is documented, and the two set-up
commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIABLE = re.compile(r"\bDSVE_[A-Z][A-Z_]*[A-Z]\b")


def test_every_variable_the_code_reads_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`(DSVE_[A-Z_]+)`", readme))
    used: set[str] = set()
    for package in ("broker", "participants"):
        for path in (ROOT / package).rglob("*.py"):
            used |= set(VARIABLE.findall(path.read_text(encoding="utf-8")))
    assert used - documented == set()


def test_ci_runs_the_readmes_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = re.findall(r"```sh\n(.+?)\n```", readme)
    assert "pip install -e . && dsve demo" in commands
    test_command = "pip install -e '.[test]' && python -m pytest"
    assert test_command in commands
    assert "python -m pip install -q -e '.[test]'" in ci and "python -m pytest" in ci
    assert "python -m mypy" in ci
