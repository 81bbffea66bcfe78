"""The hardened parser on ordinary input: what it accepts, and the refusals that are not attacks."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import pytest

from broker.config import XmlLimits
from broker.domain.errors import Error, Refusal
from broker.xml.parsing import (
    _PLAIN_UTF8_DECLARATIONS,
    _check_encoding,
    _examine_encoding,
    _find_instruction_mark,
    hardened_parser,
    parse_xml,
)

LIMITS = XmlLimits()


def refusal(data: bytes, limits: XmlLimits = LIMITS) -> Refusal:
    with pytest.raises(Refusal) as caught:
        parse_xml(data, limits)
    return caught.value


def test_parses_a_namespaced_document_and_keeps_line_numbers() -> None:
    data = b'<?xml version="1.0" encoding="UTF-8"?>\n<a xmlns="urn:x">\n\n  <b>tekst</b>\n</a>\n'
    tree = parse_xml(data, LIMITS)
    assert tree.getroot().tag == "{urn:x}a"
    assert tree.getroot()[0].sourceline == 4


def test_line_numbers_beyond_65535_stay_right() -> None:
    tree = parse_xml(b"<a>" + b"\n" * 70_000 + b"<b/></a>", LIMITS)
    assert tree.getroot()[0].sourceline == 70_001


def test_accepts_utf16_with_a_matching_declaration() -> None:
    data = '<?xml version="1.0" encoding="UTF-16"?><a>blåbær</a>'.encode("utf-16")
    assert parse_xml(data, LIMITS).getroot().text == "blåbær"


def test_accepts_real_latin1_labelled_as_latin1() -> None:
    data = '<?xml version="1.0" encoding="ISO-8859-1"?><a>Bødø</a>'.encode("latin-1")
    assert parse_xml(data, LIMITS).getroot().text == "Bødø"


def test_accepts_utf8_with_byte_order_mark() -> None:
    data = b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?><a>\xc3\xb8</a>'
    assert parse_xml(data, LIMITS).getroot().text == "ø"


def test_refuses_a_body_over_the_size_limit_before_parsing() -> None:
    found = refusal(b"<a>" + b"x" * 200 + b"</a>", XmlLimits(max_bytes=100))
    assert found.error is Error.TOO_LARGE
    assert "100" in found.detail


def test_refuses_an_empty_body() -> None:
    assert refusal(b"  \n").error is Error.XML_NOT_WELL_FORMED


def test_not_well_formed_reports_line_and_column() -> None:
    found = refusal(b"<a>\n  <b>\n</a>\n")
    assert found.error is Error.XML_NOT_WELL_FORMED
    assert found.issues
    assert found.issues[0].line == 3
    assert found.issues[0].column > 0
    assert "mismatch" in found.issues[0].message


def test_errors_of_one_parse_do_not_leak_into_the_next() -> None:
    refusal(b"<a>")
    found = refusal(b"<x>\n</y>")
    assert all(issue.line == 2 for issue in found.issues)


def test_element_count_limit() -> None:
    data = b"<a>" + b"<b/>" * 50 + b"</a>"
    found = refusal(data, XmlLimits(max_elements=10))
    assert found.error is Error.XML_LIMIT_EXCEEDED
    assert "51 elements" in found.detail
    parse_xml(data, XmlLimits(max_elements=51))


def test_depth_limit_is_exact() -> None:
    data = b"<a>" * 8 + b"</a>" * 8
    parse_xml(data, XmlLimits(max_depth=8))
    assert refusal(data, XmlLimits(max_depth=7)).error is Error.XML_LIMIT_EXCEEDED


def test_attribute_values_count_as_text_for_the_size_limit() -> None:
    data = b'<a v="' + b"x" * 600 + b'"/>'
    assert refusal(data, XmlLimits(max_text_bytes=500)).error is Error.XML_LIMIT_EXCEEDED


def test_text_size_is_measured_in_utf8_bytes() -> None:
    data = ("<a>" + "ø" * 300 + "</a>").encode()
    parse_xml(data, XmlLimits(max_text_bytes=600))
    assert refusal(data, XmlLimits(max_text_bytes=599)).error is Error.XML_LIMIT_EXCEEDED


def test_each_thread_has_its_own_parser() -> None:
    seen: list[object] = []
    thread = threading.Thread(target=lambda: seen.append(hardened_parser()))
    thread.start()
    thread.join()
    assert seen[0] is not hardened_parser()
    assert hardened_parser() is hardened_parser()


def test_parallel_parses_in_threads_give_their_own_results() -> None:
    failures: list[str] = []

    def work(n: int) -> None:
        for _ in range(200):
            root = parse_xml(f"<a><n>{n}</n></a>".encode(), LIMITS).getroot()
            if root[0].text != str(n):
                failures.append(f"{n} got {root[0].text}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_the_instruction_mark_search_finds_what_bytes_find_finds() -> None:
    """The ``<?`` search that looks for ``?`` first answers as ``bytes.find`` on every start, including
    bodies with many question marks (past the few it checks one by one)."""
    rng = random.Random(14)
    bodies = [bytes(rng.choice(b"<?a") for _ in range(rng.randint(0, 40))) for _ in range(3000)]
    bodies += [b"?" * 40 + b"<?" + b"?" * 5, b"<?xml?>" + b"a?" * 30 + b"<?pi?>", b"?<" * 30 + b"<?"]
    for body in bodies:
        for start in range(len(body) + 2):
            assert _find_instruction_mark(body, start) == body.find(b"<?", start), (body, start)


def test_a_processing_instruction_after_many_question_marks_is_refused() -> None:
    data = b'<?xml version="1.0"?><a>' + b"?" * 100 + b"<b/><?pi x?></a>"
    assert refusal(data).error is Error.XML_PROCESSING_INSTRUCTION


def _encoding_outcome(check: Callable[[bytes], object], data: bytes) -> object:
    try:
        return check(data)
    except Refusal as refused:
        return refused.detail


def test_the_common_declarations_get_what_the_full_examination_answers() -> None:
    """The shortcut for a plain UTF-8 declaration answers what examining the bytes would, whatever follows
    the label; a byte order mark or another label in front of the same bytes still gets the examination."""
    tails = [b"?>\n<a/>", b' standalone="yes"?><a>\xc3\xa6</a>', b"?><!DOCTYPE a><a/>", b"?>"]
    bodies = [declaration + tail for declaration in _PLAIN_UTF8_DECLARATIONS for tail in tails]
    bodies += [
        b"\xef\xbb\xbf" + _PLAIN_UTF8_DECLARATIONS[0] + b"?><a/>",
        b'<?xml version="1.0" encoding="UTF-16"?><a/>',
    ]
    for data in bodies:
        assert _encoding_outcome(_check_encoding, data) == _encoding_outcome(_examine_encoding, data), data
    assert refusal(b'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE a><a/>').error is Error.XML_FORBIDDEN_CONSTRUCT
