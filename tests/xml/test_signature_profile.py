"""The one-walk signature reader answers what the step-by-step reader answers, on the profile and off it.

``read_signature`` takes the walk for a signature that is exactly the profile and the step-by-step reader
for anything else; a walk that accepted what the other refuses would let a deviation through unexplained.
Each case below changes one thing in a real signature (enveloped and detached) and compares the answers.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
from lxml import etree

from broker.config import XmlLimits
from broker.domain.errors import Refusal
from broker.xml import signature_profile
from broker.xml.parsing import parse_xml
from broker.xml.pki import TestPki
from broker.xml.signature_profile import DS_NS, ENVELOPED, EXC_C14N, SignatureParts, read_signature
from broker.xml.signing import sign_enveloped, sign_inner_document
from tests.fixtures.pki import SAMPLE_NS, SAMPLE_PANT_ID, sample_document

DS = f"{{{DS_NS}}}"
KARI = "15889210181"
Change = Callable[[etree._Element], object]


def _signed(pki: TestPki) -> etree._Element:
    root = parse_xml(sample_document((KARI,)), XmlLimits()).getroot()
    container = root.find(f"{{{SAMPLE_NS}}}signaturer")
    assert container is not None
    sign_inner_document(root, SAMPLE_PANT_ID, container, pki.credential(KARI))
    return sign_enveloped(root, pki.credential("910000004"))


def _find(signature: etree._Element, name: str) -> etree._Element:
    found = signature.find(f".//{DS}{name}")
    assert found is not None, name
    return found


def _set(name: str, attribute: str, value: str) -> Change:
    return lambda s: _find(s, name).set(attribute, value)


def _text(name: str, value: str) -> Change:
    def change(signature: etree._Element) -> None:
        _find(signature, name).text = value

    return change


def _tail(name: str, value: str) -> Change:
    def change(signature: etree._Element) -> None:
        _find(signature, name).tail = value

    return change


def _append(name: str, make: Callable[[], etree._Element]) -> Change:
    return lambda s: _find(s, name).append(make())


def _in_lines(text: str) -> str:
    return "\n" + "\n".join(text[i : i + 64] for i in range(0, len(text), 64)) + "\n"


def _wrap_method(signature: etree._Element) -> None:
    """Nest SignatureMethod inside CanonicalizationMethod: the same elements in the same document order."""
    method = _find(signature, "SignatureMethod")
    _find(signature, "CanonicalizationMethod").append(method)


def _second_certificate(signature: etree._Element) -> None:
    certificate = _find(signature, "X509Certificate")
    certificate.addnext(copy.deepcopy(certificate))


def _move_certificate_out(signature: etree._Element) -> None:
    certificate = _find(signature, "X509Certificate")
    _find(signature, "KeyInfo").append(certificate)


CHANGES: dict[str, Change] = {
    "unchanged": lambda s: None,
    "Id on Signature": lambda s: s.set("Id", "s1"),
    "other attribute on Signature": lambda s: s.set("Name", "x"),
    "Id on Reference": _set("Reference", "Id", "r1"),
    "no URI": lambda s: _find(s, "Reference").attrib.pop("URI"),
    "attribute on SignedInfo": _set("SignedInfo", "Id", "i"),
    "attribute on X509Data": _set("X509Data", "Id", "d"),
    "attribute on X509Certificate": _set("X509Certificate", "Id", "c"),
    "parameter on a Transform": _set("Transform", "Extra", "1"),
    "SHA-1 digest": _set("DigestMethod", "Algorithm", "http://www.w3.org/2000/09/xmldsig#sha1"),
    "HMAC": _set("SignatureMethod", "Algorithm", "http://www.w3.org/2000/09/xmldsig#hmac-sha1"),
    "inclusive c14n": _set("CanonicalizationMethod", "Algorithm", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"),
    "text in SignedInfo": _text("SignedInfo", "x"),
    "blank text in SignedInfo": _text("SignedInfo", "\n  "),
    "text in an algorithm": _text("DigestMethod", "x"),
    "text after a Transform": _tail("Transform", "x"),
    "blank text after a Transform": _tail("Transform", " \n"),
    "broken base64": _text("DigestValue", "!!!!"),
    "base64 with line breaks": lambda s: setattr(
        _find(s, "SignatureValue"), "text", "\n".join(_find(s, "SignatureValue").text or "")
    ),
    "non-ASCII base64": _text("DigestValue", "ÆØÅ="),
    "broken certificate base64": _text("X509Certificate", "MIIB!!!!"),
    "certificate in lines": lambda s: setattr(
        _find(s, "X509Certificate"), "text", _in_lines(_find(s, "X509Certificate").text or "")
    ),
    "comment in KeyInfo": _append("KeyInfo", lambda: etree.Comment("c")),
    "instruction in X509Data": _append("X509Data", lambda: etree.ProcessingInstruction("p")),
    "element in DigestValue": _append("DigestValue", lambda: etree.Element(f"{DS}X")),
    "child of an algorithm": _append("SignatureMethod", lambda: etree.Element(f"{DS}HMACOutputLength")),
    "second certificate": _second_certificate,
    "no certificate": lambda s: _find(s, "X509Data").remove(_find(s, "X509Certificate")),
    "certificate outside X509Data": _move_certificate_out,
    "nested method": _wrap_method,
    "Object": lambda s: s.append(etree.Element(f"{DS}Object")),
    "second Reference": lambda s: _find(s, "SignedInfo").append(copy.deepcopy(_find(s, "Reference"))),
    "KeyValue": _append("KeyInfo", lambda: etree.Element(f"{DS}KeyValue")),
    "no Transforms": lambda s: _find(s, "Reference").remove(_find(s, "Transforms")),
    "extra Transform": lambda s: _find(s, "Transforms").append(copy.deepcopy(_find(s, "Transform"))),
}


def _answer(read: Callable[[], SignatureParts]) -> object:
    try:
        parts = read()
    except Refusal as refusal:
        return ("refused", refusal.error, refusal.detail)
    return (
        "read",
        parts.signature_method,
        parts.reference_uri,
        parts.digest_value,
        parts.signature_value,
        parts.certificates,
        etree.tostring(parts.signed_info),
    )


@pytest.mark.parametrize("name", sorted(CHANGES))
@pytest.mark.parametrize("which", ["enveloped", "inner"])
def test_the_walk_answers_what_the_step_by_step_reader_answers(test_pki: TestPki, name: str, which: str) -> None:
    root = _signed(test_pki)
    container = root.find(f"{{{SAMPLE_NS}}}signaturer")
    assert container is not None
    signature = root[-1] if which == "enveloped" else container[0]
    transforms = (ENVELOPED, EXC_C14N) if which == "enveloped" else (EXC_C14N,)
    CHANGES[name](signature)
    walked = _answer(lambda: read_signature(signature, transforms))
    checked = _answer(lambda: signature_profile._read_checked(signature, transforms))
    assert walked == checked
    # Again: a certificate's text decoded before (the walk keeps the last ones) answers the same.
    assert _answer(lambda: read_signature(signature, transforms)) == walked
    if name in ("unchanged", "certificate in lines"):
        assert signature_profile._read_profile(signature, transforms) is not None
        assert walked[0] == "read"  # type: ignore[index]
    if name == "broken certificate base64":
        assert walked[0] == "refused"  # type: ignore[index]
