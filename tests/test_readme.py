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


def test_every_etinglysing_control_is_in_the_readmes_table_of_codes() -> None:
    """Each kodeverdi the simulator gives says there what Kartverket check it stands for, or that none is known."""
    from participants.kartverket.etinglysing.controls import Kontroll

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| our `kodeverdi` |") :].split("\n\n", 1)[0]
    rows = {name: line for line in table.splitlines() for name in re.findall(r"`([A-Z_]+)`", line)}
    assert {k.name for k in Kontroll} - set(rows) == set()
    for kontroll in Kontroll:
        assert f"| {kontroll.utfall.value} |" in rows[kontroll.name], kontroll.name
