"""``dsve validate`` in the official profile: the same verdicts and findings as the broker's validator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from broker.cli import main
from broker.xml.pki import TestPki
from tests.fixtures.third_party import DSVE_EXAMPLES, DSVE_SPEC, require_third_party
from tests.schemasets.packages import VALID, write_zip


@pytest.fixture(autouse=True)
def _configured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    require_third_party()
    monkeypatch.setenv("DSVE_SCHEMA_SETS", f"dsve={DSVE_SPEC}")
    monkeypatch.setenv("DSVE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DSVE_ACCEPT_TEST_IDENTIFIERS", "on")  # the examples' placeholder numbers


def test_an_xml_with_its_message_type_and_properties(capsys: pytest.CaptureFixture[str]) -> None:
    xml = str(DSVE_EXAMPLES / "restgjeldssvar_1.0.xml")
    ok = ["validate", "--message-type", "Restgjeldssvar", "--property", "status=RutetSuksessfullt"]
    assert main([*ok, "--property", "statusDescription=OK", "--role", "bank", xml]) == 0
    assert "Restgjeldssvar: valid" in capsys.readouterr().out
    assert main(["validate", "--message-type", "Restgjeldssvar", "--property", "status=Bad", xml]) == 1
    out = capsys.readouterr().out
    assert "(manifest:status)" in out and "(manifest:statusDescription)" in out and ": invalid" in out


def test_a_zip_gets_the_validators_findings_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = VALID[2]
    path = write_zip(tmp_path / "p.zip", {example.zip_name: example.data().replace(b"kjoepere>", b"kjopere>")})
    assert main(["validate", "--format", "json", "--message-type", example.message_type, str(path)]) == 1
    [report] = json.loads(capsys.readouterr().out)
    first = report["errors"][0]
    assert report["messageType"] == "IntensjonFraBank" and first["file"] == example.zip_name
    assert first["code"] == "schema" and first["line"] > 0 and first["path"].startswith("/intensjonfrabank/")


def test_an_unconfigured_set_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DSVE_SCHEMA_SETS")
    assert main(["validate", "--set", "etinglysing", str(DSVE_EXAMPLES / "restgjeldssvar_1.0.xml")]) == 2
    assert "not configured" in capsys.readouterr().err


def test_the_examples_placeholders_are_refused_without_the_test_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    xml = str(DSVE_EXAMPLES / "intensjonfrabank-example.xml")
    assert main(["validate", "--message-type", "IntensjonFraBank", xml]) == 0
    assert "warning: " in capsys.readouterr().out
    monkeypatch.delenv("DSVE_ACCEPT_TEST_IDENTIFIERS")
    assert main(["validate", "--message-type", "IntensjonFraBank", xml]) == 1
    out = capsys.readouterr().out
    assert "(rule:foedselsnummer)" in out and "123450*****" in out and "12345002211" not in out


def test_a_deed_is_verified_where_the_trusted_cas_are_and_marked_unchecked_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], test_pki: TestPki
) -> None:
    from participants.cases import demo_sale_case
    from participants.official.documents import deed_stand_in

    path = write_zip(tmp_path / "deed.zip", {"signedmortgagedeed_1.xml": deed_stand_in(demo_sale_case(), "R-1")})
    args = ["validate", "--message-type", "SignedMortgageDeed", "--property", "coverLetter=Omitted", str(path)]
    assert main(args) == 0  # no CAs on this machine: recorded as not checked, not passed as verified
    assert "(mortgage-deed:unchecked)" in capsys.readouterr().out
    monkeypatch.setenv("DSVE_TRUST_CA_FILES", str(test_pki.ca_cert_path))
    assert main(args) == 1
    assert "(deed:signature)" in capsys.readouterr().out
