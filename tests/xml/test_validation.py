"""Validation reports: type from the root, schema errors at their real positions, identifier rules."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from lxml import etree

from broker.config import REPO_XSD_DIR, XmlLimits
from broker.domain.errors import Error
from broker.xml.catalogue import Catalogue, compile_schema
from broker.xml.parsing import parse_xml
from broker.xml.paths import Locator, readable_path
from broker.xml.validation import CompiledSchema, validate_bytes, validate_tree, validate_with_schema

MINI = Path(__file__).parent / "data" / "mini"
LIMITS = XmlLimits()
VALID = (MINI / "pantedokument.xml").read_bytes()


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load(MINI)


def lines_of(data: bytes) -> list[str]:
    return data.decode().split("\n")


def position_of(data: bytes, needle: str, nth: int = 0) -> tuple[int, int]:
    """1-based line and column of the n-th occurrence of ``needle`` in ``data``."""
    text = data.decode()
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    return text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)


def test_valid_document(catalogue: Catalogue) -> None:
    report = validate_bytes(VALID, catalogue, LIMITS)
    assert report.ok and report.message_type == "pantedokument" and report.error is None
    assert report.as_dict() == {"messageType": "pantedokument", "valid": True, "errors": []}


def test_unknown_root_is_one_issue(catalogue: Catalogue) -> None:
    report = validate_bytes(b'<?xml version="1.0"?>\n<faktura xmlns="urn:x"/>', catalogue, LIMITS)
    assert report.message_type is None
    assert len(report.issues) == 1
    issue = report.issues[0]
    assert (issue.line, issue.column, issue.path) == (2, 1, "/faktura")
    assert "faktura" in issue.message and "urn:x" in issue.message
    assert report.error is Error.UNKNOWN_MESSAGE_TYPE


def test_parse_refusals_become_issues(catalogue: Catalogue) -> None:
    report = validate_bytes(b"<a>\n<b></a>", catalogue, LIMITS)
    assert not report.ok and report.message_type is None
    assert report.issues[0].line == 2
    assert report.error is Error.XML_NOT_WELL_FORMED
    assert validate_bytes(b"<!DOCTYPE a><a/>", catalogue, LIMITS).error is Error.XML_FORBIDDEN_CONSTRUCT


def test_schema_errors_at_the_start_tag_with_readable_paths(catalogue: Catalogue) -> None:
    data = VALID.replace(b"<beloep>3500000</beloep>", b"<beloep>-5</beloep>").replace(
        b"<kontonummer>12345678903", b"<kontonummer>1234567890x"
    )
    report = validate_bytes(data, catalogue, LIMITS)
    assert report.message_type == "pantedokument"
    assert report.error is Error.SCHEMA_INVALID
    found = {(i.path, i.line, i.column) for i in report.issues}
    assert found == {
        ("/pantedokument/pant/kontonummer", *position_of(data, "<kontonummer>")),
        ("/pantedokument/pant/beloep", *position_of(data, "<beloep>")),
    }
    assert all(i.code == "schema" for i in report.issues)
    beloep = next(i for i in report.issues if i.path.endswith("beloep"))
    assert "urn:test" not in beloep.message and "'-5'" in beloep.message


def test_positions_in_a_minified_document_pick_the_right_repeated_tag(catalogue: Catalogue) -> None:
    data = VALID.replace(
        b"<pantsetter><foedselsnummer>01819012365</foedselsnummer></pantsetter>",
        b"<pantsetter><foedselsnummer>01819012365</foedselsnummer></pantsetter>"
        b"<pantsetter><foedselsnummer>0181901236x</foedselsnummer></pantsetter>",
    )
    report = validate_bytes(data, catalogue, LIMITS)
    (issue,) = report.issues
    assert issue.path == "/pantedokument/pant/pantsetter[2]/foedselsnummer"
    assert (issue.line, issue.column) == position_of(data, "<foedselsnummer>", nth=1)
    assert "0181901236x" not in issue.message


def test_schema_messages_never_hold_a_personal_number(catalogue: Catalogue) -> None:
    data = VALID.replace(b"2026-11-28T10:15:00+01:00", b"01819012365")
    report = validate_bytes(data, catalogue, LIMITS)
    assert report.issues and all("01819012365" not in i.message for i in report.issues)


def test_identifier_rules_with_masked_personal_numbers(catalogue: Catalogue) -> None:
    data = (
        VALID.replace(b"<orgnr>923609016</orgnr>", b"<orgnr>923609017</orgnr>")
        .replace(b"01819012365", b"01819012366")
        .replace(b"12345678903", b"12345678904")
    )
    report = validate_bytes(data, catalogue, LIMITS)
    assert report.error is Error.RULE_VIOLATION
    by_code = {i.code: i for i in report.issues}
    assert set(by_code) == {"rule:orgnr", "rule:foedselsnummer", "rule:kontonummer"}
    assert (by_code["rule:orgnr"].line, by_code["rule:orgnr"].column) == position_of(data, "<orgnr>")
    assert by_code["rule:orgnr"].path == "/pantedokument/hode/avsender/orgnr"
    assert "923609017" in by_code["rule:orgnr"].message
    fnr = by_code["rule:foedselsnummer"]
    assert "01819012366" not in fnr.message and "018190*****" in fnr.message
    assert fnr.path == "/pantedokument/pant/pantsetter/foedselsnummer"


def test_synthetic_personal_numbers_pass_the_rule(catalogue: Catalogue) -> None:
    assert validate_bytes(VALID, catalogue, LIMITS).ok  # 01819012365 has month + 80


def test_wrong_format_is_reported_once_by_the_schema(catalogue: Catalogue) -> None:
    data = VALID.replace(b"<orgnr>923609016</orgnr>", b"<orgnr>92360901</orgnr>")
    report = validate_bytes(data, catalogue, LIMITS)
    assert [i.code for i in report.issues] == ["schema"]


def test_prefixed_documents_get_columns_too(catalogue: Catalogue) -> None:
    data = (
        VALID.replace(b'<pantedokument xmlns="urn:test:pant:v1">', b'<p:pantedokument xmlns:p="urn:test:pant:v1">')
        .replace(b"</pantedokument>", b"</p:pantedokument>")
        .replace(b"<", b"<p:")
        .replace(b"<p:/", b"</p:")
        .replace(b"<p:?", b"<?")
        .replace(b"<p:p:", b"<p:")
        .replace(b"</p:p:", b"</p:")
        .replace(b"<beloep>3500000</beloep>", b"<beloep>x</beloep>")
        .replace(b"<p:beloep>3500000</p:beloep>", b"<p:beloep>x</p:beloep>")
    )
    report = validate_bytes(data, catalogue, LIMITS)
    (issue,) = report.issues
    assert issue.path == "/pantedokument/pant/beloep"
    assert (issue.line, issue.column) == position_of(data, "<p:beloep>")


def test_without_source_the_column_is_zero_but_line_and_path_stay(catalogue: Catalogue) -> None:
    data = VALID.replace(b"<beloep>3500000</beloep>", b"<beloep>x</beloep>")
    report = validate_tree(parse_xml(data, LIMITS), catalogue)
    (issue,) = report.issues
    assert (issue.line, issue.column, issue.path) == (position_of(data, "<beloep>")[0], 0, "/pantedokument/pant/beloep")


def test_validation_against_any_schema_file(tmp_path: Path) -> None:
    (tmp_path / "tall.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="tall" type="xs:int"/></xs:schema>'
    )
    compiled = CompiledSchema(compile_schema(tmp_path / "tall.xsd"))
    assert validate_with_schema(parse_xml(b"<tall>4</tall>", LIMITS), compiled).ok
    data = b"<?xml version='1.0'?>\n<tall>fire</tall>"
    report = validate_with_schema(parse_xml(data, LIMITS), compiled, data)
    assert [(i.line, i.column, i.path) for i in report.issues] == [(2, 1, "/tall")]


def test_readable_path_marks_positions_only_among_same_named_siblings() -> None:
    root = etree.fromstring(b'<r xmlns="urn:x"><a/><b><c/></b><b><c/><d/></b></r>')
    assert readable_path(root) == "/r"
    assert readable_path(root[0]) == "/r/a"
    assert readable_path(root[2][0]) == "/r/b[2]/c"
    assert readable_path(root[1]) == "/r/b[1]"


def test_locator_ignores_paths_that_name_no_element() -> None:
    tree = etree.ElementTree(etree.fromstring(b"<r a='1'><x/></r>"))
    locator = Locator(tree, b"<r a='1'><x/></r>")
    assert locator.element_at("/*/*[1]") is tree.getroot()[0]
    assert locator.element_at("/*/@a") is None
    assert locator.element_at("count(//*)") is None
    assert locator.element_at(None) is None


def test_concurrent_validations_keep_their_own_errors(catalogue: Catalogue) -> None:
    bad = VALID.replace(b"<beloep>3500000</beloep>", b"<beloep>x</beloep>")
    failures: list[str] = []

    def work(data: bytes, expected: int) -> None:
        for _ in range(100):
            got = len(validate_bytes(data, catalogue, LIMITS).issues)
            if got != expected:
                failures.append(f"expected {expected} issues, got {got}")

    threads = [threading.Thread(target=work, args=(data, n)) for data, n in [(VALID, 0), (bad, 1)] * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


REPO_EXAMPLES = REPO_XSD_DIR / "examples"


@pytest.mark.skipif(not (REPO_XSD_DIR / "catalogue.toml").exists(), reason="the repository catalogue is not there")
def test_repository_examples_are_refused_by_the_check_they_name() -> None:
    catalogue = Catalogue.load(REPO_XSD_DIR)
    for example in sorted(REPO_EXAMPLES.glob("*.xml")):
        report = validate_bytes(example.read_bytes(), catalogue, LIMITS)
        assert report.ok, (example.name, report.issues)
    for example in sorted((REPO_EXAMPLES / "invalid").glob("*.xml")):
        data = example.read_bytes()
        expected = re.search(rb"<!--\s*expect:\s*(\w+)\s*-->", data)
        assert expected, example.name
        report = validate_bytes(data, catalogue, LIMITS)
        assert not report.ok, example.name
        kind = expected.group(1).decode()
        assert report.error is (Error.RULE_VIOLATION if kind == "rule" else Error.SCHEMA_INVALID), example.name
        assert all(issue.line > 0 and issue.column > 0 and issue.path for issue in report.issues), example.name
        fault_line = re.search(rb"<!--\s*fault:\s*line (\d+)", data)
        if fault_line:
            assert report.issues[0].line == int(fault_line.group(1)), (example.name, report.issues)
