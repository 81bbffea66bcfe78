"""Signed inner documents (``pant``, ``eierskifte``, ``sletting``) and their personal signatures.

Every family schema includes the common types as a chameleon, so the same ``pant`` is in the pant namespace
inside a ``pantedokument`` and in the registration namespace inside the deed package to Kartverket. A
namespace is part of what exclusive c14n digests, so signatures are made over the document's registration
form (the tinglysing namespace): the form Kartverket checks. The bank signs that form and ships the same
element, renamed into its own family namespace; the megler renames it back, unchanged otherwise, and the
signatures verify again. ``registration_form`` is that renaming; it keeps text, whitespace and attributes.
"""

from __future__ import annotations

import copy

from lxml import etree

from broker.xml.keys import SigningCredential
from broker.xml.signing import sign_inner_document
from broker.xml.trust import SignerIdentity
from broker.xml.verification import SignatureVerifier
from participants.messages.schemas import DS_NS, TINGLYSING_NS

SIGNATURE_TAG = f"{{{DS_NS}}}Signature"


def renamed(element: etree._Element, namespace: str) -> etree._Element:
    """A deep copy of ``element`` with every element of its namespace moved into ``namespace``."""
    source = etree.QName(element).namespace

    def build(node: etree._Element, parent: etree._Element | None) -> etree._Element:
        qname = etree.QName(node)
        tag = f"{{{namespace}}}{qname.localname}" if qname.namespace == source else node.tag
        nsmap = {None: namespace} if parent is None else None
        new = etree.Element(tag, nsmap=nsmap) if parent is None else etree.SubElement(parent, tag)
        for name, value in node.attrib.items():
            new.set(name, value)
        new.text = node.text
        new.tail = node.tail
        for child in node:
            if isinstance(child.tag, str):
                build(child, new)
            else:
                clone = copy.copy(child)
                new.append(clone)
        return new

    return build(element, None)


def registration_form(element: etree._Element) -> etree._Element:
    return renamed(element, TINGLYSING_NS)


def sign_registration_form(
    element: etree._Element, signers: list[SigningCredential]
) -> tuple[etree._Element, list[etree._Element]]:
    """Sign the registration form of ``element`` once per signer; answers that form and the signatures.

    Signing happens in a throwaway ``dokument`` so the signatures' references resolve, the way they will in
    the deed package.
    """
    form = registration_form(element)
    holder = etree.Element(f"{{{TINGLYSING_NS}}}dokument", nsmap={None: TINGLYSING_NS})
    holder.append(form)
    container = etree.SubElement(holder, f"{{{TINGLYSING_NS}}}signaturer")
    element_id = form.get("Id")
    if not element_id:
        raise ValueError("a signed inner document needs an Id")
    for credential in signers:
        sign_inner_document(holder, element_id, container, credential)
    return form, list(container)


def embed_signed(
    root: etree._Element, element_name: str, signers: list[SigningCredential], index: int = 0
) -> list[etree._Element]:
    """Sign the ``index``-th ``element_name`` element of a message in its registration form, in place."""
    namespace = etree.QName(root).namespace
    return sign_in_place(list(root.iter(f"{{{namespace}}}{element_name}"))[index], signers)


def sign_in_place(element: etree._Element, signers: list[SigningCredential]) -> list[etree._Element]:
    """Replace ``element`` by its signed registration form renamed into its own namespace (its bytes otherwise
    unchanged), and put the signatures in the ``signaturer`` element that follows it."""
    container = element.getnext()
    if container is None or etree.QName(container).localname != "signaturer":
        raise ValueError(f"no signaturer follows {etree.QName(element).localname}")
    form, signatures = sign_registration_form(element, signers)
    replace_with(element, renamed(form, etree.QName(element).namespace), signatures)
    return signatures


def replace_with(element: etree._Element, replacement: etree._Element, signatures: list[etree._Element]) -> None:
    """Swap a placeholder for a signed document and add its signatures to the following ``signaturer``."""
    container = element.getnext()
    if container is None or etree.QName(container).localname != "signaturer":
        raise ValueError(f"no signaturer follows {etree.QName(element).localname}")
    replacement.tail = element.tail
    parent = element.getparent()
    if parent is None:
        raise ValueError("a signed inner document cannot be the root")
    parent.replace(element, replacement)
    for signature in signatures:
        container.append(signature)


def signed_copy_for_registration(
    element: etree._Element, container: etree._Element
) -> tuple[etree._Element, list[etree._Element]]:
    """The registration form of a received signed document and copies of its signatures, for a deed package."""
    signatures = [copy.deepcopy(s) for s in container if s.tag == SIGNATURE_TAG]
    return registration_form(element), signatures


def verify_registration_form(
    verifier: SignatureVerifier, element: etree._Element, container: etree._Element
) -> list[SignerIdentity]:
    """Check the personal (or enterprise) signatures over a received inner document, in its registration form.

    Answers who signed, in order; raises the verifier's refusal when any signature fails.
    """
    form, signatures = signed_copy_for_registration(element, container)
    holder = etree.Element(f"{{{TINGLYSING_NS}}}dokument", nsmap={None: TINGLYSING_NS})
    holder.append(form)
    signaturer = etree.SubElement(holder, f"{{{TINGLYSING_NS}}}signaturer")
    for signature in signatures:
        signaturer.append(signature)
    return verifier.verify_inner(holder, form.get("Id", ""))
