"""``dsve demo --profile dsve``: the official-profile sale runs through a real broker port and completes."""

from __future__ import annotations

import pytest

from participants.cli import register
from tests.fixtures.third_party import DSVE_SPEC, require_third_party


def test_the_official_demo_completes(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    require_third_party()
    monkeypatch.delenv("DSVE_SCHEMA_SETS", raising=False)
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["demo", "--profile", "dsve"])
    assert args.func(args) == 2  # without the schema's directory it says what is missing
    assert "--schema-dir" in capsys.readouterr().out
    args = parser.parse_args(["demo", "--profile", "dsve", "--schema-dir", str(DSVE_SPEC)])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "received OppnaaddPrioritetOk" in out and "Demo fullført" in out
