"""Signed inner documents (``pant``, ``eierskifte``, ``sletting``) and their personal signatures.

The documents live in their own namespace (``urn:no:dsve:dokument:v1``, xsd/dokument.xsd) whichever
message carries them, and exclusive c14n digests only the signed element and the namespaces it uses. So a
document is signed in place, in the message being built, and a document received signed is copied as it
is into the next message (the buyers' ``pant`` from a pantedokument into the deed package): its signatures
verify in both, and Kartverket checks the very signatures the bank collected.
"""

from __future__ import annotations

import copy

from lxml import etree

from broker.xml.keys import SigningCredential
from broker.xml.signing import sign_inner_document
from participants.messages.schemas import DOKUMENT_NS, DS_NS

SIGNATURE_TAG = f"{{{DS_NS}}}Signature"


def document_tag(kind: str) -> str:
    """The qualified name of a signed inner document, e.g. ``{urn:no:dsve:dokument:v1}pant``."""
    return f"{{{DOKUMENT_NS}}}{kind}"


def signatures_container(element: etree._Element) -> etree._Element:
    """The ``signaturer`` element that follows a signed document and holds its detached signatures."""
    container = element.getnext()
    while container is not None and not isinstance(container.tag, str):
        container = container.getnext()
    if container is None or etree.QName(container).localname != "signaturer":
        raise ValueError(f"no signaturer follows {etree.QName(element).localname}")
    return container


def sign_in_place(element: etree._Element, signers: list[SigningCredential]) -> list[etree._Element]:
    """Add one detached signature per signer over ``element`` to the ``signaturer`` that follows it."""
    element_id = element.get("Id")
    if not element_id:
        raise ValueError("a signed inner document needs an Id")
    container = signatures_container(element)
    root = element.getroottree().getroot()
    return [sign_inner_document(root, element_id, container, credential) for credential in signers]


def embed_signed(
    root: etree._Element, kind: str, signers: list[SigningCredential], index: int = 0
) -> list[etree._Element]:
    """Sign the ``index``-th inner document named ``kind`` of a message, in place."""
    return sign_in_place(list(root.iter(document_tag(kind)))[index], signers)


def signed_copy(element: etree._Element) -> tuple[etree._Element, list[etree._Element]]:
    """Copies of a received signed document and of its signatures, to carry them into another message."""
    signatures = [copy.deepcopy(s) for s in signatures_container(element) if s.tag == SIGNATURE_TAG]
    return copy.deepcopy(element), signatures


def replace_with(element: etree._Element, replacement: etree._Element, signatures: list[etree._Element]) -> None:
    """Swap a placeholder for a signed document and add its signatures to the following ``signaturer``."""
    if replacement.tag != element.tag:
        raise ValueError(f"a {etree.QName(replacement).localname} cannot stand in for {etree.QName(element).localname}")
    container = signatures_container(element)
    parent = element.getparent()
    if parent is None:
        raise ValueError("a signed inner document cannot be the root")
    replacement.tail = element.tail
    parent.replace(element, replacement)
    for signature in signatures:
        container.append(signature)
