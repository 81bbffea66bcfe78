"""``dsve demo --profile dsve``: the whole official-profile sale, Kartverket included, runs through a real broker
port on the embedded defaults and prints a readable account with each conversation's rule checks."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from participants.cli import register
from tests.fixtures.third_party import DSVE_SPEC, require_third_party
from tests.kartverket.etinglysing.conftest import SCHEMA_DIR


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["demo", "--profile", "dsve", *argv])
    return int(args.func(args))


def test_the_official_demo_says_which_schemas_it_needs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DSVE_SCHEMA_SETS", raising=False)
    assert _run() == 2
    out = capsys.readouterr().out
    assert "--schema-dir" in out and "--kartverket-schema-dir" in out
    assert _run("--schema-dir", str(DSVE_SPEC)) == 2
    assert "--kartverket-schema-dir" in capsys.readouterr().out


def test_a_schema_directory_without_its_schema_is_said_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    require_third_party()
    monkeypatch.delenv("DSVE_SCHEMA_SETS", raising=False)
    # The directory above the one that holds innsending.xsd, an easy slip: one line, no traceback.
    code = _run("--data-dir", str(tmp_path), "--schema-dir", str(DSVE_SPEC), "--kartverket-schema-dir", str(SCHEMA_DIR))
    err = capsys.readouterr().err
    assert code == 2
    assert "innsending.xsd not found" in err and "DSVE_SCHEMA_SETS" in err
    assert "Traceback" not in err


def test_the_official_demo_runs_the_whole_sale(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    require_third_party()
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("DSVE_SCHEMA_SETS", f"dsve={DSVE_SPEC},etinglysing={SCHEMA_DIR / 'schema'}")
    assert _run() == 0
    out = capsys.readouterr().out
    steps = [
        "sellers' bank  received Restgjeldsforespoersel",
        "megler         received Restgjeldssvar RutetSuksessfullt",
        "buyers' bank   received IntensjonssvarFraMegler RutetSuksessfullt",
        "buyers' bank   received SignedMortgageDeedProcessed RoutedSuccessfully",
        "Kartverket     TINGLYST the deed of sale and the mortgage",
        "buyers' bank   received GjennomfoertEtinglysing",
        "megler         received Innfrielsessaldosvar RutetSuksessfullt",
        "sellers' bank  loan paid off",
        "Kartverket     TINGLYST the sellers' bank's sletting",
        "has priority 1",
        "buyers' bank   received OppnaaddPrioritetOk",
    ]
    positions = [out.index(step) for step in steps]
    assert positions == sorted(positions)
    conversations = [line for line in out.splitlines() if line.startswith("conversation ")]
    assert len(conversations) == 3 and all("all pass" in line for line in conversations)
    assert "Demo fullført" in out
