"""Signing in the one XML-DSig profile the broker accepts.

Enveloped signature over the whole document (``Reference URI=""``, enveloped-signature + exclusive c14n,
SHA-256 digest, RSA-SHA256 or ECDSA-SHA256, the certificate in KeyInfo) as the root's last child; detached
signatures over a signed inner document (``Reference URI="#Id"``) collected in its ``signaturer`` sibling.
Inner documents are signed first: the enveloped signature then covers them and their signatures.
"""

from __future__ import annotations

from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureConstructionMethod, SignatureMethod
from signxml.signer import XMLSigner

from broker.config import XmlLimits
from broker.xml.keys import SigningCredential
from broker.xml.parsing import parse_xml

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
DS_SIGNATURE = f"{{{DS_NS}}}Signature"
EXC_C14N = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0


class SigningError(ValueError):
    """A document that cannot be signed as asked (no such Id, a signature already present)."""


def _signer(cred: SigningCredential, method: SignatureConstructionMethod) -> XMLSigner:
    algorithm = SignatureMethod.ECDSA_SHA256 if cred.is_ec else SignatureMethod.RSA_SHA256
    return XMLSigner(
        method=method,
        signature_algorithm=algorithm,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=EXC_C14N,
    )


def _root_of(node: etree._Element | etree._ElementTree) -> etree._Element:
    return node.getroot() if isinstance(node, etree._ElementTree) else node


def sign_enveloped(root: etree._Element | etree._ElementTree, cred: SigningCredential) -> etree._Element:
    """Sign the whole document; returns the signed root (a new tree: the input is left as it was).

    A document that already has a signature as a child of its root is refused: the broker accepts exactly
    one enveloped signature, so signing twice would only make a message it refuses.
    """
    element = _root_of(root)
    if element.find(DS_SIGNATURE) is not None:
        raise SigningError("the document already carries an enveloped signature")
    signed = _signer(cred, SignatureConstructionMethod.enveloped).sign(
        element, key=cred.private_key, cert=cred.certificates
    )
    if signed[-1].tag != DS_SIGNATURE:
        raise SigningError("the signature did not land as the root's last child")
    return signed


def sign_enveloped_bytes(data: bytes, cred: SigningCredential) -> bytes:
    """Sign serialized XML; answers UTF-8 bytes with an XML declaration.

    The bytes go through the broker's hardened parser and limits: a document the broker would refuse to
    parse is not worth signing. Raises ``Refusal`` for such input.
    """
    signed = sign_enveloped(parse_xml(data, XmlLimits()), cred)
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def sign_inner_document(
    root: etree._Element | etree._ElementTree,
    element_id: str,
    container: etree._Element,
    cred: SigningCredential,
) -> etree._Element:
    """Add one person's detached signature over the element whose ``Id`` is ``element_id``.

    The signature goes into ``container`` (the ``signaturer`` element after the signed element), which must
    be in the same tree and outside the signed element. Call once per signer. Returns the new Signature.
    """
    element = _root_of(root)
    matches = element.xpath("//*[@Id=$id]", id=element_id)
    if len(matches) != 1:
        raise SigningError(f"expected exactly one element with Id {element_id!r}, found {len(matches)}")
    signed_element = matches[0]
    if container.getroottree().getroot() is not element.getroottree().getroot():
        raise SigningError("the signature container is not in the signed document")
    if any(ancestor is signed_element for ancestor in container.iterancestors()) or container is signed_element:
        raise SigningError("the signature container lies inside the element it would sign")
    signature = _signer(cred, SignatureConstructionMethod.detached).sign(
        element, key=cred.private_key, cert=cred.certificates, reference_uri=f"#{element_id}", id_attribute="Id"
    )
    container.append(signature)
    return signature
