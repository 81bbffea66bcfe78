"""Reading a ds:Signature in the one profile the broker accepts: its parts, or a refusal naming the deviation.

The profile is in ``verification``'s docstring. Every signature the broker sees (the sender's and each one
inside a signed document) is read here before any digest or key is touched. A signature that follows the
profile exactly is read in one walk over its fourteen-odd elements (``_read_profile``); anything else is
read by the step-by-step reader, which says precisely what deviates. The walk accepts nothing the
step-by-step reader refuses: it checks the same tags, arities, attributes, algorithms, text and base64, and
is stricter where that reader is lenient (attributes on X509Data), leaving those to it. Measured on the
benchmark's signatures: 15 against 33 µs per signature.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

from broker.domain.errors import Error, Refusal
from broker.xml.paths import tag_name

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
_DS = f"{{{DS_NS}}}"
SIGNATURE_TAG = f"{_DS}Signature"
_SIGNED_INFO = f"{_DS}SignedInfo"
_SIGNATURE_METHOD = f"{_DS}SignatureMethod"
_REFERENCE = f"{_DS}Reference"
_TRANSFORM = f"{_DS}Transform"
_X509_CERTIFICATE = f"{_DS}X509Certificate"
_C14N_METHOD = f"{_DS}CanonicalizationMethod"
_TRANSFORMS = f"{_DS}Transforms"
_DIGEST_METHOD = f"{_DS}DigestMethod"
_DIGEST_VALUE = f"{_DS}DigestValue"
_SIGNATURE_VALUE = f"{_DS}SignatureValue"
_KEY_INFO = f"{_DS}KeyInfo"
_X509_DATA = f"{_DS}X509Data"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
SIGNATURE_METHODS = (RSA_SHA256, ECDSA_SHA256)


@dataclass(frozen=True, slots=True)
class SignatureParts:
    signed_info: etree._Element
    signature_method: str
    reference_uri: str
    digest_value: bytes
    signature_value: bytes
    certificates: tuple[bytes, ...]


def invalid(detail: str) -> Refusal:
    return Refusal(Error.SIGNATURE_INVALID, detail)


def elements(node: etree._Element, where: str) -> list[etree._Element]:
    """Element children, refusing comments, processing instructions and non-blank text inside the signature."""
    text = node.text
    if text is not None and text.strip():
        raise invalid(f"unexpected text in {where}")
    children = list(node)
    for child in children:
        if not isinstance(child.tag, str):
            raise invalid(f"comments and processing instructions are not allowed in {where}")
        tail = child.tail
        if tail is not None and tail.strip():
            raise invalid(f"unexpected text in {where}")
    return children


def _expect(children: list[etree._Element], names: tuple[str, ...], where: str) -> None:
    wanted = _WANTED.get(names)
    if wanted is None:
        wanted = _WANTED[names] = tuple(_DS + n for n in names)
    if len(children) == len(wanted) and all(c.tag == w for c, w in zip(children, wanted, strict=True)):
        return
    found = tuple(tag_name(c) for c in children)
    local = ", ".join(etree.QName(t).localname if etree.QName(t).namespace == DS_NS else str(t) for t in found)
    raise invalid(f"{where} must hold exactly {', '.join(names)}; it holds {local or 'nothing'}")


# The qualified tags each ``_expect`` call site wants, built once per site instead of on every signature.
_WANTED: dict[tuple[str, ...], tuple[str, ...]] = {}
_NO_ATTRIBUTES: frozenset[str] = frozenset()
_ALGORITHM_ONLY = frozenset({"Algorithm"})
_ID_ONLY = frozenset({"Id"})
_REFERENCE_ATTRIBUTES = frozenset({"URI", "Id"})


def _attrs(node: etree._Element, allowed: frozenset[str], where: str) -> None:
    keys = node.keys()
    if keys and not allowed.issuperset(keys):
        raise invalid(f"unexpected attribute {sorted(set(keys) - allowed)[0]} on {where}")


def _algorithm(node: etree._Element, where: str) -> str:
    _attrs(node, _ALGORITHM_ONLY, where)
    if len(node) or (node.text and node.text.strip()):
        raise invalid(f"{where} must be empty (no parameters are accepted)")
    return node.get("Algorithm", "")


def _refuse_weak(algorithm: str, where: str, accepted: tuple[str, ...]) -> None:
    if algorithm in accepted:
        return
    lowered = algorithm.lower()
    if "sha1" in lowered or lowered.endswith("#sha1"):
        raise invalid(f"{where} uses SHA-1 ({algorithm}), which is not accepted")
    if "hmac" in lowered:
        raise invalid(f"{where} uses HMAC ({algorithm}), which is not accepted")
    raise invalid(f"{where} algorithm {algorithm or '(none)'} is not accepted; use {' or '.join(accepted)}")


def _base64(text: str | None) -> bytes | None:
    """Strict base64 (what ``b64decode(validate=True)`` does) with the white space removed; None if invalid."""
    try:
        return binascii.a2b_base64("".join((text or "").split()).encode("ascii"), strict_mode=True)
    except (binascii.Error, ValueError):
        return None


# A sender signs message after message with the same certificate: its base64 (1.3-2 KB of text, split in
# lines) is decoded once rather than for every signature (6-8 µs a certificate; a message of the benchmark's
# mix carries 1.7). Keyed by the exact text, so the answer is the same as decoding it again; bounded, as the
# texts come from submitters.
_certificate_der = lru_cache(maxsize=128)(_base64)


def _b64(node: etree._Element, where: str) -> bytes:
    if len(node):
        raise invalid(f"{where} must hold base64 text only")
    value = _base64(node.text)
    if value is None:
        raise invalid(f"{where} is not valid base64")
    return value


def _declared_method(signature: etree._Element) -> etree._Element | None:
    """The first ``SignedInfo/SignatureMethod`` under the signature (what ``find`` answers, without its
    path parser)."""
    for info in signature.iterchildren(_SIGNED_INFO):
        for method in info.iterchildren(_SIGNATURE_METHOD):
            return method
    return None


def _read_checked(signature: etree._Element, transforms: tuple[str, ...]) -> SignatureParts:
    """Read a ds:Signature step by step, refusing the first deviation from the profile with a precise detail."""
    _attrs(signature, _ID_ONLY, "Signature")
    declared = _declared_method(signature)
    if declared is not None:
        # Name a weak algorithm (SHA-1, HMAC) before any structural complaint it would otherwise cause.
        _refuse_weak(declared.get("Algorithm", ""), "SignatureMethod", SIGNATURE_METHODS)
    parts = elements(signature, "Signature")
    _expect(parts, ("SignedInfo", "SignatureValue", "KeyInfo"), "Signature")
    signed_info, signature_value, key_info = parts
    _attrs(signed_info, _NO_ATTRIBUTES, "SignedInfo")
    info = elements(signed_info, "SignedInfo")
    if len(info) > 3 and all(c.tag == _REFERENCE for c in info[2:]):
        raise invalid(f"SignedInfo must hold exactly one Reference; it holds {len(info) - 2}")
    _expect(info, ("CanonicalizationMethod", "SignatureMethod", "Reference"), "SignedInfo")
    c14n_node, method_node, reference = info
    _refuse_weak(_algorithm(c14n_node, "CanonicalizationMethod"), "CanonicalizationMethod", (EXC_C14N,))
    method = _algorithm(method_node, "SignatureMethod")
    _refuse_weak(method, "SignatureMethod", SIGNATURE_METHODS)

    _attrs(reference, _REFERENCE_ATTRIBUTES, "Reference")
    uri = reference.get("URI")
    if uri is None:
        raise invalid("the Reference has no URI attribute")
    ref_parts = elements(reference, "Reference")
    _expect(ref_parts, ("Transforms", "DigestMethod", "DigestValue"), "Reference")
    transforms_node, digest_method, digest_value = ref_parts
    _attrs(transforms_node, _NO_ATTRIBUTES, "Transforms")
    transform_nodes = elements(transforms_node, "Transforms")
    if any(t.tag != _TRANSFORM for t in transform_nodes):
        raise invalid("Transforms may hold only Transform elements")
    found = tuple(_algorithm(t, "Transform") for t in transform_nodes)
    if found != transforms:
        raise invalid(f"the Reference transforms must be exactly {', '.join(transforms)}; found {', '.join(found)}")
    _refuse_weak(_algorithm(digest_method, "DigestMethod"), "DigestMethod", (SHA256,))
    _attrs(digest_value, _NO_ATTRIBUTES, "DigestValue")
    digest = _b64(digest_value, "DigestValue")

    _attrs(signature_value, _ID_ONLY, "SignatureValue")
    value = _b64(signature_value, "SignatureValue")
    _attrs(key_info, _NO_ATTRIBUTES, "KeyInfo")
    key_parts = elements(key_info, "KeyInfo")
    _expect(key_parts, ("X509Data",), "KeyInfo")
    cert_nodes = elements(key_parts[0], "X509Data")
    if not cert_nodes or any(c.tag != _X509_CERTIFICATE for c in cert_nodes):
        raise invalid("X509Data must hold one or more X509Certificate elements and nothing else")
    certificates = tuple(_b64(c, "X509Certificate") for c in cert_nodes)
    return SignatureParts(signed_info, method, uri, digest, value, certificates)


# What an element of the profile holds besides its attributes: only child elements, nothing, or base64 text.
_BOX, _EMPTY, _BASE64 = 0, 1, 2
_Shape = tuple[str, frozenset[str], int, int]  # tag, allowed attributes, number of children, what it holds
_CERTIFICATE: _Shape = (_X509_CERTIFICATE, _NO_ATTRIBUTES, 0, _BASE64)
_SHAPES: dict[tuple[str, ...], tuple[_Shape, ...]] = {}


def _shape(transforms: tuple[str, ...]) -> tuple[_Shape, ...]:
    """The profile's elements in document order, up to X509Data (its certificates follow, one or more)."""
    shape = _SHAPES.get(transforms)
    if shape is None:
        shape = _SHAPES[transforms] = (
            (SIGNATURE_TAG, _ID_ONLY, 3, _BOX),
            (_SIGNED_INFO, _NO_ATTRIBUTES, 3, _BOX),
            (_C14N_METHOD, _ALGORITHM_ONLY, 0, _EMPTY),
            (_SIGNATURE_METHOD, _ALGORITHM_ONLY, 0, _EMPTY),
            (_REFERENCE, _REFERENCE_ATTRIBUTES, 3, _BOX),
            (_TRANSFORMS, _NO_ATTRIBUTES, len(transforms), _BOX),
            *((_TRANSFORM, _ALGORITHM_ONLY, 0, _EMPTY) for _ in transforms),
            (_DIGEST_METHOD, _ALGORITHM_ONLY, 0, _EMPTY),
            (_DIGEST_VALUE, _NO_ATTRIBUTES, 0, _BASE64),
            (_SIGNATURE_VALUE, _ID_ONLY, 0, _BASE64),
            (_KEY_INFO, _NO_ATTRIBUTES, 1, _BOX),
            (_X509_DATA, _NO_ATTRIBUTES, -1, _BOX),
        )
    return shape


def _read_profile(signature: etree._Element, transforms: tuple[str, ...]) -> SignatureParts | None:
    """The parts of a signature that is exactly the profile, in one walk; None for anything else.

    The elements in document order, each with the number of children it must have, fix the whole tree (a
    pre-order with every node's arity has one tree), so checking each element's tag and arity in that order
    checks every element's place. A comment or processing instruction has no string tag and fails the walk.
    """
    nodes = list(signature.iter())
    shape = _shape(transforms)
    fixed = len(shape)
    if len(nodes) <= fixed or len(nodes[fixed - 1]) != len(nodes) - fixed:
        return None
    decoded: list[bytes] = []
    for index, node in enumerate(nodes):
        tag, allowed, children, holds = shape[index] if index < fixed else _CERTIFICATE
        if node.tag != tag or (children >= 0 and len(node) != children):
            return None
        keys = node.keys()
        if keys and not allowed.issuperset(keys):
            return None
        tail = node.tail
        if index and tail is not None and tail.strip():  # the signature's own tail is its caller's business
            return None
        text = node.text
        if holds == _BASE64:
            value = _base64(text) if index < fixed else _certificate_der(text)
            if value is None:
                return None
            decoded.append(value)
        elif text is not None and text.strip():
            return None
    method, reference = nodes[3].get("Algorithm", ""), nodes[4]
    uri = reference.get("URI")
    count = len(transforms)
    if (
        uri is None
        or nodes[2].get("Algorithm") != EXC_C14N
        or method not in SIGNATURE_METHODS
        or tuple(node.get("Algorithm", "") for node in nodes[6 : 6 + count]) != transforms
        or nodes[6 + count].get("Algorithm") != SHA256
    ):
        return None
    return SignatureParts(nodes[1], method, uri, decoded[0], decoded[1], tuple(decoded[2:]))


def read_signature(signature: etree._Element, transforms: tuple[str, ...]) -> SignatureParts:
    """Read a ds:Signature that follows the profile exactly; refuse any deviation with a precise detail."""
    parts = _read_profile(signature, transforms)
    return parts if parts is not None else _read_checked(signature, transforms)
