"""Verifying signatures in the one XML-DSig profile the broker accepts, and nothing else.

The profile (see ``signing``): an enveloped signature as the root's last child, ``Reference URI=""``,
transforms enveloped-signature then exclusive c14n, SHA-256 digest, RSA-SHA256 or ECDSA-SHA256, the signer's
certificate (and intermediates) in ``X509Data``; inner documents carry detached signatures with one
``Reference URI="#Id"`` and exclusive c14n. Anything else (a second reference, another algorithm, an
``Object``, a ``KeyValue``, SHA-1, HMAC, a comment or element after the signature) is refused rather than
interpreted, because every extra the verifier understands is room for a wrapping attack.

The verifier works on an already-parsed tree and never parses XML: the broker parses once with its
hardened parser. It never mutates the input; what it returns as signed is a copy made from the very bytes
it digested. It holds no lxml state, so one instance serves a thread pool; the trust store caches proven
certificate chains, so steady-state cost is two c14n passes, one SHA-256 and one public-key operation.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree

from broker.domain.clock import Clock, utc_now
from broker.domain.errors import Error, Refusal
from broker.xml.paths import tag_name
from broker.xml.trust import SignerIdentity, TrustStore

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
_DS = f"{{{DS_NS}}}"
SIGNATURE_TAG = f"{_DS}Signature"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
SIGNATURE_METHODS = (RSA_SHA256, ECDSA_SHA256)
_P256_HALF = 32


@dataclass(frozen=True, slots=True)
class VerifiedDocument:
    """The signed content (a copy without its signature, built from what was digested) and its signer."""

    root: etree._Element
    signer: SignerIdentity


@dataclass(frozen=True, slots=True)
class _SignatureParts:
    signed_info: etree._Element
    signature_method: str
    reference_uri: str
    digest_value: bytes
    signature_value: bytes
    certificates: tuple[bytes, ...]


# Every element whose Id, ID or id is the one a signature references, the root included.
_WITH_ID = etree.XPath("descendant-or-self::*[@Id = $id or @ID = $id or @id = $id]")


def _invalid(detail: str) -> Refusal:
    return Refusal(Error.SIGNATURE_INVALID, detail)


def _elements(node: etree._Element, where: str) -> list[etree._Element]:
    """Element children, refusing comments, processing instructions and non-blank text inside the signature."""
    children: list[etree._Element] = []
    if node.text is not None and node.text.strip():
        raise _invalid(f"unexpected text in {where}")
    for child in node:
        if not isinstance(child.tag, str):
            raise _invalid(f"comments and processing instructions are not allowed in {where}")
        if child.tail is not None and child.tail.strip():
            raise _invalid(f"unexpected text in {where}")
        children.append(child)
    return children


def _expect(children: list[etree._Element], names: tuple[str, ...], where: str) -> None:
    found = tuple(tag_name(c) for c in children)
    wanted = tuple(_DS + n for n in names)
    if found != wanted:
        local = ", ".join(etree.QName(t).localname if etree.QName(t).namespace == DS_NS else str(t) for t in found)
        raise _invalid(f"{where} must hold exactly {', '.join(names)}; it holds {local or 'nothing'}")


def _attrs(node: etree._Element, allowed: set[str], where: str) -> None:
    extra = set(node.attrib) - allowed
    if extra:
        raise _invalid(f"unexpected attribute {sorted(extra)[0]} on {where}")


def _algorithm(node: etree._Element, where: str) -> str:
    _attrs(node, {"Algorithm"}, where)
    if len(node) or (node.text and node.text.strip()):
        raise _invalid(f"{where} must be empty (no parameters are accepted)")
    return node.get("Algorithm", "")


def _refuse_weak(algorithm: str, where: str, accepted: tuple[str, ...]) -> None:
    if algorithm in accepted:
        return
    lowered = algorithm.lower()
    if "sha1" in lowered or lowered.endswith("#sha1"):
        raise _invalid(f"{where} uses SHA-1 ({algorithm}), which is not accepted")
    if "hmac" in lowered:
        raise _invalid(f"{where} uses HMAC ({algorithm}), which is not accepted")
    raise _invalid(f"{where} algorithm {algorithm or '(none)'} is not accepted; use {' or '.join(accepted)}")


def _b64(node: etree._Element, where: str) -> bytes:
    if len(node):
        raise _invalid(f"{where} must hold base64 text only")
    text = "".join((node.text or "").split())
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _invalid(f"{where} is not valid base64") from exc


def _parse_signature(signature: etree._Element, transforms: tuple[str, ...]) -> _SignatureParts:
    """Read a ds:Signature that follows the profile exactly; refuse any deviation with a precise detail."""
    _attrs(signature, {"Id"}, "Signature")
    declared = signature.find(f"{_DS}SignedInfo/{_DS}SignatureMethod")
    if declared is not None:
        # Name a weak algorithm (SHA-1, HMAC) before any structural complaint it would otherwise cause.
        _refuse_weak(declared.get("Algorithm", ""), "SignatureMethod", SIGNATURE_METHODS)
    parts = _elements(signature, "Signature")
    _expect(parts, ("SignedInfo", "SignatureValue", "KeyInfo"), "Signature")
    signed_info, signature_value, key_info = parts
    _attrs(signed_info, set(), "SignedInfo")
    info = _elements(signed_info, "SignedInfo")
    if len(info) > 3 and all(c.tag == f"{_DS}Reference" for c in info[2:]):
        raise _invalid(f"SignedInfo must hold exactly one Reference; it holds {len(info) - 2}")
    _expect(info, ("CanonicalizationMethod", "SignatureMethod", "Reference"), "SignedInfo")
    c14n_node, method_node, reference = info
    _refuse_weak(_algorithm(c14n_node, "CanonicalizationMethod"), "CanonicalizationMethod", (EXC_C14N,))
    method = _algorithm(method_node, "SignatureMethod")
    _refuse_weak(method, "SignatureMethod", SIGNATURE_METHODS)

    _attrs(reference, {"URI", "Id"}, "Reference")
    if "URI" not in reference.attrib:
        raise _invalid("the Reference has no URI attribute")
    ref_parts = _elements(reference, "Reference")
    _expect(ref_parts, ("Transforms", "DigestMethod", "DigestValue"), "Reference")
    transforms_node, digest_method, digest_value = ref_parts
    _attrs(transforms_node, set(), "Transforms")
    transform_nodes = _elements(transforms_node, "Transforms")
    if any(t.tag != f"{_DS}Transform" for t in transform_nodes):
        raise _invalid("Transforms may hold only Transform elements")
    found = tuple(_algorithm(t, "Transform") for t in transform_nodes)
    if found != transforms:
        raise _invalid(f"the Reference transforms must be exactly {', '.join(transforms)}; found {', '.join(found)}")
    _refuse_weak(_algorithm(digest_method, "DigestMethod"), "DigestMethod", (SHA256,))
    _attrs(digest_value, set(), "DigestValue")
    digest = _b64(digest_value, "DigestValue")

    _attrs(signature_value, {"Id"}, "SignatureValue")
    value = _b64(signature_value, "SignatureValue")
    _attrs(key_info, set(), "KeyInfo")
    key_parts = _elements(key_info, "KeyInfo")
    _expect(key_parts, ("X509Data",), "KeyInfo")
    cert_nodes = _elements(key_parts[0], "X509Data")
    if not cert_nodes or any(c.tag != f"{_DS}X509Certificate" for c in cert_nodes):
        raise _invalid("X509Data must hold one or more X509Certificate elements and nothing else")
    certificates = tuple(_b64(c, "X509Certificate") for c in cert_nodes)
    return _SignatureParts(signed_info, method, reference.get("URI", ""), digest, value, certificates)


def _exc_c14n(node: etree._Element) -> bytes:
    return etree.tostring(node, method="c14n", exclusive=True, with_comments=False)


def _check_signature_value(parts: _SignatureParts, public_key: object, signed_info: bytes) -> None:
    try:
        if parts.signature_method == RSA_SHA256:
            if not isinstance(public_key, rsa.RSAPublicKey):
                raise _invalid("RSA-SHA256 signature from a certificate without an RSA key")
            public_key.verify(parts.signature_value, signed_info, padding.PKCS1v15(), hashes.SHA256())
        else:
            if not isinstance(public_key, ec.EllipticCurvePublicKey):
                raise _invalid("ECDSA-SHA256 signature from a certificate without an EC key")
            if len(parts.signature_value) != 2 * _P256_HALF:
                raise _invalid("the ECDSA signature value must be 64 bytes (r and s of P-256)")
            r = int.from_bytes(parts.signature_value[:_P256_HALF], "big")
            s = int.from_bytes(parts.signature_value[_P256_HALF:], "big")
            public_key.verify(encode_dss_signature(r, s), signed_info, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise _invalid("the SignatureValue does not verify with the certificate's key") from exc


def _detach_signature(signed: etree._Element) -> etree._Element:
    """Remove the last child (the signature) of a private copy, keeping the text around it, as c14n sees it."""
    signature = signed[-1]
    tail = signature.tail
    previous = signature.getprevious()
    signed.remove(signature)
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            signed.text = (signed.text or "") + tail
    return signed


class SignatureVerifier:
    """Verifies enveloped message signatures and detached inner-document signatures against a trust store."""

    def __init__(self, trust: TrustStore, clock: Clock | None = None) -> None:
        self._trust = trust
        self._clock: Clock = clock or utc_now

    @property
    def trust(self) -> TrustStore:
        return self._trust

    def _signer(self, parts: _SignatureParts) -> tuple[SignerIdentity, object]:
        chain = self._trust.trusted_chain(parts.certificates, self._clock())
        return chain.identity, chain.public_key

    def verify_enveloped(
        self, root_or_tree: etree._Element | etree._ElementTree, *, owned: bool = False
    ) -> VerifiedDocument:
        """Verify the sender's enveloped signature; answer the signed content and the signer.

        Callers must read every field from ``VerifiedDocument.root``, never from the tree they passed in.
        ``owned``: the caller parsed the tree for this call alone and gives it up, so it is verified (and
        its signature detached) in place instead of in a private copy.
        """
        if isinstance(root_or_tree, etree._ElementTree):
            tree, root = root_or_tree, root_or_tree.getroot()
        else:
            root, tree = root_or_tree, root_or_tree.getroottree()
        if tree.docinfo.internalDTD is not None:
            raise _invalid("documents with a DOCTYPE are not accepted")
        if root.getparent() is not None:
            raise _invalid("verify the document's root element, not an element inside it")
        outside = (*root.itersiblings(preceding=True), *root.itersiblings())
        if any(isinstance(node, etree._ProcessingInstruction) for node in outside):
            raise _invalid("processing instructions outside the root element are not accepted")
        signatures = [child for child in root if child.tag == SIGNATURE_TAG]
        if not signatures:
            raise Refusal(Error.SIGNATURE_MISSING, "the root element has no ds:Signature child")
        if len(signatures) > 1:
            raise _invalid(f"the root element holds {len(signatures)} ds:Signature elements; exactly one is accepted")
        if root[-1] is not signatures[0]:
            raise _invalid("the ds:Signature must be the root element's last child; something follows it")
        if signatures[0].tail is not None and signatures[0].tail.strip():
            raise _invalid("text follows the ds:Signature")
        # From here on only a private copy is touched: lxml's c14n of an inner element briefly relinks the
        # tree, so two threads canonicalising parts of one shared tree could corrupt it.
        own = root if owned else copy.deepcopy(root)
        parts = _parse_signature(own[-1], (ENVELOPED, EXC_C14N))
        if parts.reference_uri != "":
            raise _invalid(f'the Reference must be URI="" (the whole document), not {parts.reference_uri!r}')
        signer, public_key = self._signer(parts)
        signed_info = _exc_c14n(parts.signed_info)
        signed = _detach_signature(own)
        digest = hashlib.sha256(_exc_c14n(signed)).digest()
        if not hmac.compare_digest(digest, parts.digest_value):
            raise _invalid("the document's digest does not match the signed DigestValue: the content was changed")
        _check_signature_value(parts, public_key, signed_info)
        return VerifiedDocument(root=signed, signer=signer)

    def verify_inner(
        self, root: etree._Element | etree._ElementTree, element_id: str, *, owned: bool = False
    ) -> list[SignerIdentity]:
        """Verify every detached signature over the element with ``Id`` = ``element_id``; answer the signers.

        The signatures must be the only children of the ``signaturer`` element that directly follows the
        signed element. Pass the ``root`` of a ``VerifiedDocument`` so the inner signatures are read from
        verified content. ``owned``: the caller's thread alone uses the tree (the root of its own
        ``VerifiedDocument``), so it is read in place instead of in a private copy.
        """
        given = root.getroot() if isinstance(root, etree._ElementTree) else root
        # A private copy unless owned, for the same reason as in verify_enveloped.
        element_root = given if owned else copy.deepcopy(given)
        matches = _WITH_ID(element_root, id=element_id)
        assert isinstance(matches, list)
        if len(matches) != 1:
            raise Refusal(
                Error.SIGNATURE_MISSING if not matches else Error.SIGNATURE_INVALID,
                f"expected exactly one element with Id {element_id!r}, found {len(matches)}",
            )
        element = matches[0]
        container = element.getnext()
        while container is not None and not isinstance(container.tag, str):
            container = container.getnext()
        if container is None or etree.QName(container).localname != "signaturer":
            raise Refusal(Error.SIGNATURE_MISSING, f"no signaturer element follows the element with Id {element_id!r}")
        signatures = _elements(container, "signaturer")
        if not signatures:
            raise Refusal(Error.SIGNATURE_MISSING, f"the signaturer of {element_id!r} holds no signature")
        if any(s.tag != SIGNATURE_TAG for s in signatures):
            raise _invalid(f"the signaturer of {element_id!r} may hold only ds:Signature elements")
        digest = hashlib.sha256(_exc_c14n(element)).digest()
        signers: list[SignerIdentity] = []
        for position, signature in enumerate(signatures, start=1):
            parts = _parse_signature(signature, (EXC_C14N,))
            if parts.reference_uri != f"#{element_id}":
                raise _invalid(f"signature {position} of {element_id!r} references {parts.reference_uri!r}")
            signer, public_key = self._signer(parts)
            if not hmac.compare_digest(digest, parts.digest_value):
                raise _invalid(f"signature {position} of {element_id!r}: the signed document was changed")
            _check_signature_value(parts, public_key, _exc_c14n(parts.signed_info))
            signers.append(signer)
        return signers


def require_signer_orgnr(verified: VerifiedDocument, orgnr: str) -> SignerIdentity:
    """Refuse a document whose enterprise signer is not ``orgnr`` (the sender the document names)."""
    if verified.signer.orgnr != orgnr:
        who = verified.signer.orgnr or "a certificate without an orgnr"
        raise Refusal(Error.SIGNER_MISMATCH, f"signed by {who}, but the sender is {orgnr}")
    return verified.signer
