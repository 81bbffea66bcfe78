"""Schema sets: the mapping files, namespace-less schemas, attribute routing, the offline setting and the CLI."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from broker.config import Settings, XmlLimits
from broker.schemasets.configured import add_set, all_mappings, load_sets, open_set, registered_dirs
from broker.schemasets.field_paths import FieldPathError, compile_field_path
from broker.schemasets.schema_set import SchemaSetError
from tests.fixtures.third_party import (
    DSVE_EXAMPLES,
    DSVE_SPEC,
    INNSENDING,
    KARTVERKET_EXAMPLES,
    STALE_EXAMPLES,
    VALID_EXAMPLES,
    require_third_party,
)

LENIENT = {"foedselsnummer": "warn", "kontonummer": "warn", "kid": "warn", "orgnr": "warn", "party": "warn"}


@pytest.fixture(autouse=True)
def _third_party() -> None:
    require_third_party()


def test_every_mapping_file_loads_with_official_type_names() -> None:
    mappings = all_mappings()
    assert {"dsve", "etinglysing"} <= set(mappings)
    dsve = mappings["dsve"]
    assert dsve.namespace == "" and dsve.type_key == "messageType"
    assert {"IntensjonFraBank", "SignedMortgageDeed", "OppnaaddPrioritetOk", "Restgjeldsforespoersel"} <= set(
        dsve.types
    )
    assert "oppgjoersforetak" in {role.value for role in dsve.types["IntensjonFraBank"].recipient_roles}


def test_field_paths_name_attributes_without_a_namespace() -> None:
    from lxml import etree

    root = etree.fromstring(b'<a><avsender id="920058817"><referanse>R1</referanse></avsender></a>')
    assert compile_field_path("avsender/@id", "").first(root) == "920058817"
    assert compile_field_path("//@id", "").first(root) == "920058817"
    assert compile_field_path("avsender/referanse", "").first(root) == "R1"
    with pytest.raises(FieldPathError):
        compile_field_path("avsender/@id/x", "")
    with pytest.raises(FieldPathError):
        compile_field_path("avsender[last()]", "")


@pytest.mark.parametrize("name", VALID_EXAMPLES)
def test_valid_official_examples_pass_the_dsve_set(name: str) -> None:
    schema_set = open_set("dsve", DSVE_SPEC)
    report = schema_set.check_xml(name, (DSVE_EXAMPLES / name).read_bytes(), XmlLimits(), {}, test_identifiers=True)
    assert report.errors == []
    assert report.message_type is not None
    # Routing fields come from attributes and elements of a namespace-less document; no message id is needed.
    assert re.fullmatch(r"\d{9}", report.routing["sender"]) and re.fullmatch(r"\d{9}", report.routing["recipient"])
    assert report.routing["sender_reference"]


def _xmllint_first_error(path: Path) -> tuple[int, str]:
    result = subprocess.run(
        ["xmllint", "--noout", "--schema", str(DSVE_SPEC / "dsve.xsd"), str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    first = result.stderr.splitlines()[0]
    match = re.match(r"^[^:]+:(\d+): element [^:]+: Schemas validity error : (.*)$", first)
    assert match, first
    return int(match[1]), re.sub(r"\{[^}]*\}", "", match[2])


@pytest.mark.parametrize("name", STALE_EXAMPLES)
def test_stale_official_examples_fail_with_xmllints_first_error(name: str) -> None:
    schema_set = open_set("dsve", DSVE_SPEC)
    report = schema_set.check_xml(name, (DSVE_EXAMPLES / name).read_bytes(), XmlLimits(), {}, test_identifiers=True)
    assert report.errors
    first = report.errors[0]
    line, message = _xmllint_first_error(DSVE_EXAMPLES / name)
    assert first.line == line and first.file == name
    if "No matching global declaration" in message:
        # A root the schema does not declare is no message type of the set at all.
        assert first.code == "unknown-message-type"
    else:
        assert first.message == message and first.code == "schema"


def test_kartverket_examples_pass_the_etinglysing_set_and_ugyldig_does_not() -> None:
    schema_set = open_set("etinglysing", INNSENDING)
    for path in sorted(KARTVERKET_EXAMPLES.glob("*.xml")):
        report = schema_set.check_xml(path.name, path.read_bytes(), XmlLimits(), {})
        if path.name == "ugyldig.xml":
            assert report.errors and report.errors[0].code == "schema"
        else:
            assert report.errors == [], (path.name, report.errors[:1])
            expected = "hentStatus" if path.name == "hentStatus.xml" else "forsendelse"
            assert report.message_type == expected


def test_a_wrong_check_digit_in_an_id_attribute_is_refused_when_enforced() -> None:
    schema_set = open_set("dsve", DSVE_SPEC)
    data = (DSVE_EXAMPLES / "intensjonfrabank-example.xml").read_bytes().replace(b'id="920058817"', b'id="920058818"')
    report = schema_set.check_xml("x.xml", data, XmlLimits(), {**LENIENT, "orgnr": "enforce"})
    assert [f.code for f in report.errors] == ["rule:orgnr"]
    assert report.errors[0].path == "/intensjonfrabank/avsender/@id" and report.errors[0].line > 0
    warned = schema_set.check_xml("x.xml", data, XmlLimits(), LENIENT)
    assert warned.errors == [] and any(f.code == "rule:orgnr" for f in warned.warnings)


def test_an_enveloped_signature_does_not_break_the_closed_schema() -> None:
    schema_set = open_set("dsve", DSVE_SPEC)
    data = (DSVE_EXAMPLES / "intensjonfrabank-example.xml").read_bytes()
    signed = data.replace(
        b"</intensjonfrabank>",
        b'<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo/></ds:Signature></intensjonfrabank>',
    )
    assert schema_set.check_xml("x.xml", signed, XmlLimits(), {}, test_identifiers=True).errors == []


def test_the_offline_setting_and_the_add_command_configure_sets(tmp_path: Path) -> None:
    settings = Settings.from_env({"DSVE_SCHEMA_SETS": f"dsve={DSVE_SPEC},etinglysing={INNSENDING}"})
    loaded = load_sets(tmp_path, settings.schema_sets)
    assert set(loaded.sets) == {"dsve", "etinglysing"} and loaded.problems == {}
    add_set(tmp_path, "dsve", DSVE_SPEC)
    assert registered_dirs(tmp_path) == {"dsve": DSVE_SPEC.resolve()}
    broken = load_sets(tmp_path, (("etinglysing", tmp_path),))
    assert set(broken.sets) == {"dsve"} and "innsending.xsd not found" in broken.problems["etinglysing"]
    with pytest.raises(SchemaSetError, match="no mapping file"):
        add_set(tmp_path, "nosuchset", DSVE_SPEC)


def test_schemas_cli_add_and_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from broker.cli import main

    monkeypatch.setenv("DSVE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DSVE_SCHEMA_SETS", raising=False)
    assert main(["schemas", "add", "dsve", str(DSVE_SPEC)]) == 0
    capsys.readouterr()
    assert main(["schemas", "list"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "ready" in lines["dsve"] and "not configured" in lines["etinglysing"] and "ready" in lines["native"]
    assert main(["schemas", "add", "etinglysing", str(tmp_path)]) == 1
    assert "innsending.xsd not found" in capsys.readouterr().err
    # Without an action, `dsve schemas` still lists the native catalogue.
    assert main(["schemas"]) == 0
    assert "intensjonFraBank" in capsys.readouterr().out
