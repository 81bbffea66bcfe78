"""A comment inside a text value: every reader sees the whole value, as the schema and the signature do.

The XSD and exclusive c14n read ``15<!-- x -->889210182`` as ``15889210182``; lxml's ``element.text`` stops at
the comment. The hardened parser drops comments, so the identifier rules, the routing fields, the console's
view and the property units all read the value the sender signed. Processing instructions inside the
document are refused (c14n signs them; no message has a use for one).
"""

from __future__ import annotations

import pytest
from lxml import etree

from broker.config import REPO_XSD_DIR, XmlLimits
from broker.console.xml_view import readable_xml
from broker.domain.errors import Error, Refusal
from broker.xml.catalogue import Catalogue
from broker.xml.parsing import parse_xml
from broker.xml.property_units import units_in_tree
from broker.xml.validation import validate_bytes

LIMITS = XmlLimits()
EXAMPLE = (REPO_XSD_DIR / "examples" / "intensjonFraBank.xml").read_bytes()
WRONG_FNR = b"15<!-- x -->889210182"  # 15889210182: the last check digit is wrong (…181 is right)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load(REPO_XSD_DIR)


def test_a_comment_does_not_cut_a_text_value() -> None:
    tree = parse_xml(b"<a><b>15<!-- x -->889<!--y-->210181</b><!-- after --></a>", LIMITS)
    assert tree.getroot()[0].text == "15889210181"
    assert len(tree.getroot()) == 1


def test_the_identifier_rules_see_the_whole_personal_number(catalogue: Catalogue) -> None:
    data = EXAMPLE.replace(b"15889210181", WRONG_FNR)
    report = validate_bytes(data, catalogue, LIMITS)
    assert report.error is Error.RULE_VIOLATION
    assert [issue.code for issue in report.issues] == ["rule:foedselsnummer"]


def test_the_routing_fields_read_the_whole_reference(catalogue: Catalogue) -> None:
    data = EXAMPLE.replace(b"NLS-LAAN-2026-88213", b"BB-REF-<!-- x -->0dff75-TAIL")
    root = parse_xml(data, LIMITS).getroot()
    spec = catalogue.spec_for_root(root)
    assert spec is not None
    assert spec.routing_fields(root).sender_reference == "BB-REF-0dff75-TAIL"


def test_the_console_masks_the_whole_personal_number() -> None:
    data = EXAMPLE.replace(b"15889210181", b"158892<!-- x -->10181")
    view = readable_xml(data, LIMITS)
    assert "10181" not in view.text
    assert "158892*****" in view.text


def test_the_property_units_read_the_whole_number() -> None:
    data = EXAMPLE.replace(b"<gaardsnummer>165<", b"<gaardsnummer>1<!-- x -->65<")
    units = units_in_tree(parse_xml(data, LIMITS).getroot())
    assert [unit.unit for unit in units] == ["4601-165-412"]


def test_a_processing_instruction_inside_the_document_is_refused() -> None:
    with pytest.raises(Refusal) as caught:
        parse_xml(b"<a>\n<b>15<?x y?>889210181</b></a>", LIMITS)
    assert caught.value.error is Error.XML_PROCESSING_INSTRUCTION
    assert caught.value.error.spec.status == 400
    assert caught.value.issues[0].line == 2


def test_a_processing_instruction_before_the_document_is_parsed() -> None:
    tree = parse_xml(b'<?xml-stylesheet href="a.xsl"?><a>x</a>', LIMITS)
    assert tree.getroot().text == "x"
    assert isinstance(tree.getroot().getprevious(), etree._ProcessingInstruction)
