"""Hostile documents: each one is refused with a clear reason, quickly, and nothing leaks or crashes."""

from __future__ import annotations

import pytest

from broker.config import XmlLimits
from broker.domain.errors import Error, Refusal
from broker.xml.parsing import parse_xml

LIMITS = XmlLimits()


def refusal(data: bytes, limits: XmlLimits = LIMITS) -> Refusal:
    """The refusal of ``data``. A parser that expanded first and refused later would blow the test's time
    limit (and memory) on the entity bombs below; no stopwatch is needed to see that."""
    with pytest.raises(Refusal) as caught:
        parse_xml(data, limits)
    return caught.value


def test_external_entity_to_a_local_file() -> None:
    data = b'<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<a>&xxe;</a>'
    found = refusal(data)
    assert found.error is Error.XML_FORBIDDEN_CONSTRUCT
    assert "DOCTYPE" in found.detail
    assert (found.issues[0].line, found.issues[0].column) == (2, 1)
    assert "root:" not in str(found) + repr(found.issues)


def test_external_dtd_over_the_network() -> None:
    data = b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/evil.dtd"><a/>'
    assert refusal(data).error is Error.XML_FORBIDDEN_CONSTRUCT


def test_billion_laughs() -> None:
    entities = ['<!ENTITY l0 "lol">'] + [f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)]
    data = f'<?xml version="1.0"?><!DOCTYPE lolz [{"".join(entities)}]><lolz a="&l9;">&l9;</lolz>'.encode()
    assert refusal(data).error is Error.XML_FORBIDDEN_CONSTRUCT


def test_billion_laughs_in_utf16() -> None:
    """The DOCTYPE scan must work on characters, not bytes, when the document is 16-bit."""
    entities = ['<!ENTITY l0 "lol">'] + [f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)]
    text = f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE lolz [{"".join(entities)}]><lolz>&l9;</lolz>'
    assert refusal(text.encode("utf-16")).error is Error.XML_FORBIDDEN_CONSTRUCT


def test_quadratic_blowup() -> None:
    big = "x" * 50_000
    data = f'<!DOCTYPE q [<!ENTITY big "{big}">]><q a="{"&big;" * 5_000}">{"&big;" * 5_000}</q>'.encode()
    assert refusal(data).error is Error.XML_FORBIDDEN_CONSTRUCT


def test_undeclared_entity_reference_without_doctype() -> None:
    found = refusal(b"<a>\n  &xxe;\n</a>")
    assert found.error is Error.XML_FORBIDDEN_CONSTRUCT
    assert found.issues[0].line == 2


def test_ten_thousand_deep_nesting() -> None:
    data = b"<a>" * 10_000 + b"</a>" * 10_000
    found = refusal(data)
    assert found.error is Error.XML_LIMIT_EXCEEDED
    assert "XML_PARSE_HUGE" not in found.detail


def test_nesting_just_over_the_configured_depth() -> None:
    data = b"<a>" * 65 + b"</a>" * 65
    found = refusal(data)
    assert found.error is Error.XML_LIMIT_EXCEEDED
    assert "64" in found.detail


def test_text_node_over_the_size_limit() -> None:
    data = b"<a>" + b"A" * 5_000 + b"</a>"
    found = refusal(data, XmlLimits(max_text_bytes=4_096))
    assert found.error is Error.XML_LIMIT_EXCEEDED
    assert "4096" in found.detail


def test_declared_utf16_but_bytes_are_ascii() -> None:
    found = refusal(b'<?xml version="1.0" encoding="UTF-16"?><a>x</a>')
    assert found.error is Error.XML_NOT_WELL_FORMED
    assert "utf-16" in found.detail


def test_declared_latin1_but_bytes_are_utf8() -> None:
    found = refusal('<?xml version="1.0" encoding="ISO-8859-1"?><a>Tromsø</a>'.encode())
    assert found.error is Error.XML_NOT_WELL_FORMED
    assert "iso-8859-1" in found.detail and "UTF-8" in found.detail


def test_declared_utf8_but_bytes_are_latin1() -> None:
    found = refusal('<?xml version="1.0" encoding="UTF-8"?><a>Tromsø</a>'.encode("latin-1"))
    assert found.error is Error.XML_NOT_WELL_FORMED
    assert "encoding" in found.detail.lower()


def test_declared_latin1_but_bytes_are_utf16() -> None:
    found = refusal('<?xml version="1.0" encoding="ISO-8859-1"?><a/>'.encode("utf-16"))
    assert found.error is Error.XML_NOT_WELL_FORMED
    assert "UTF-16" in found.detail


def test_utf8_byte_order_mark_with_a_different_declaration() -> None:
    found = refusal(b'\xef\xbb\xbf<?xml version="1.0" encoding="ISO-8859-1"?><a/>')
    assert found.error is Error.XML_NOT_WELL_FORMED


def test_utf32_is_refused() -> None:
    assert refusal("<a/>".encode("utf-32")).error is Error.XML_NOT_WELL_FORMED


def test_xinclude_is_not_processed() -> None:
    data = b'<a xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file:///etc/passwd" parse="text"/></a>'
    tree = parse_xml(data, LIMITS)
    assert "root:" not in (tree.getroot().xpath("string()") or "")


# Two checks are settled from the bytes when the markup is in ASCII bytes (a count of "<" bounds the depth,
# no "<?" after the XML declaration means no processing instruction); these must still be found wherever
# the bytes do not settle it.
@pytest.mark.parametrize(
    "prefix",
    [b"", b'<?xml version="1.0"?>', b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>', b"\n  "],
)
def test_a_processing_instruction_inside_after_any_start_is_refused(prefix: bytes) -> None:
    found = refusal(prefix + b"<a><?x y?></a>")
    assert found.error is Error.XML_PROCESSING_INSTRUCTION


@pytest.mark.parametrize("encoding", ["UTF-8", "ISO-8859-1", "US-ASCII", "UTF-16"])
def test_nesting_over_the_depth_is_refused_in_every_encoding(encoding: str) -> None:
    text = f'<?xml version="1.0" encoding="{encoding}"?>' + "<a>" * 65 + "</a>" * 65
    found = refusal(text.encode(encoding.lower()))
    assert found.error is Error.XML_LIMIT_EXCEEDED


def test_a_processing_instruction_mark_in_a_comment_or_cdata_is_no_instruction() -> None:
    tree = parse_xml(b'<?xml version="1.0"?><a><!-- <?x?> --><b><![CDATA[<?y?>]]></b></a>', LIMITS)
    assert tree.getroot().find("b").text == "<?y?>"


def test_nesting_at_the_depth_with_few_tags_is_accepted() -> None:
    tree = parse_xml(b"<a>" * 64 + b"</a>" * 64, LIMITS)
    assert tree.getroot().tag == "a"
