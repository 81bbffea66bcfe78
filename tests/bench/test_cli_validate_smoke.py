"""A few seconds of the `dsve validate` benchmark, so it keeps working; the 10,000-file run is not in the suite."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
COUNTS = re.compile(r"^dsve validate: .* (\d+) files: (\d+) valid, (\d+) invalid$", re.MULTILINE)
ONE_FILE = re.compile(
    r"^one file, start-up included \(best of 2\): dsve \d+ ms \(CPU \d+\), xmllint \d+ ms", re.MULTILINE
)
FLOOR = re.compile(
    r"^the interpreter alone \(python -c pass, best of 2\): \d+ ms \(CPU \d+\); above it: dsve -?\d+ ms$", re.MULTILINE
)


@pytest.mark.slow
def test_smoke_run_validates_every_file_and_prints_the_interpreter_floor() -> None:
    if shutil.which("xmllint") is None:
        pytest.fail("the benchmark compares against xmllint (libxml2-utils), which is not installed")
    result = subprocess.run(
        [sys.executable, "bench/cli_validate.py", "--smoke"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    counts = COUNTS.search(result.stdout)
    assert counts is not None, result.stdout
    total, valid, invalid = (int(group) for group in counts.groups())
    assert total == 200 and valid + invalid == total and invalid > 0  # the generator breaks one file in twenty
    assert ONE_FILE.search(result.stdout), result.stdout
    assert FLOOR.search(result.stdout), result.stdout
