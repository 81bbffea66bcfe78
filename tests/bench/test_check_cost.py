"""``bench.check_cost --mix``: every message of the e2e mix passes the checks, and the cost is printed."""

from __future__ import annotations

import re

import pytest

from bench.check_cost import mix_cost


def test_the_mix_passes_every_check_and_its_cost_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    mix_cost(8, 1)
    line = capsys.readouterr().out.strip()
    assert re.fullmatch(r"8 messages of the e2e mix \(\d+ bytes on average\): \d+ µs of CPU per document", line)
