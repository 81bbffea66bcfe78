"""The deed package (tinglysingsforsendelse) a megler sends to Kartverket.

It gathers documents signed by different people: the transfer of ownership, signed here by the sellers;
the buyers' mortgage, signed by them and received from their bank; the deletion, signed by the sellers'
bank and received from it. Received documents are copied in exactly as signed (they keep their own
namespace, see ``inner``), so Kartverket verifies the very signatures the banks collected.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field

from lxml import etree

from broker.xml.keys import SigningCredential
from broker.xml.signing import sign_enveloped
from participants.messages.envelope import ReceivedMessage
from participants.messages.header import Header
from participants.messages.inner import document_tag, replace_with, sign_in_place, signed_copy
from participants.messages.model import Data, Eierskifte
from participants.messages.schemas import TINGLYSING_NS, MessageSchemas, default_schemas, in_document_namespace

VALIDATE = "valider"
REGISTER = "tinglys"


@dataclass(frozen=True, slots=True)
class PresignedDocument:
    """A signed inner document taken from a received message, ready to travel on unchanged."""

    kind: str
    data: Data
    element: etree._Element = field(repr=False)
    signatures: tuple[etree._Element, ...] = field(repr=False)

    @classmethod
    def from_message(cls, message: ReceivedMessage, kind: str) -> PresignedDocument:
        """``kind`` is the element name: ``pant`` from a pantedokument, ``sletting`` from a slettingserklaering.

        The element is copied as received (from the verified tree when the message was verified), never
        re-encoded: re-encoding could change whitespace or prefixes and so the digest the signers signed.
        """
        element, signatures = signed_copy(message.document(kind))
        return cls(kind=kind, data=message.body[kind], element=element, signatures=tuple(signatures))


@dataclass(frozen=True, slots=True)
class PackageDocument:
    """One document of a package: a document signed now by ``signers``, or one received already signed."""

    reference: str
    kind: str
    data: Data
    signers: tuple[SigningCredential, ...] = field(default=(), repr=False)
    presigned: PresignedDocument | None = None

    @classmethod
    def transfer(cls, reference: str, eierskifte: Eierskifte, sellers: Sequence[SigningCredential]) -> PackageDocument:
        return cls(reference=reference, kind="eierskifte", data=eierskifte.to_data(), signers=tuple(sellers))

    @classmethod
    def received(cls, reference: str, document: PresignedDocument) -> PackageDocument:
        return cls(reference=reference, kind=document.kind, data=document.data, presigned=document)


def tinglysingsforsendelse(
    header: Header,
    credential: SigningCredential,
    submission_reference: str,
    documents: Sequence[PackageDocument],
    operation: str = REGISTER,
    schemas: MessageSchemas | None = None,
) -> bytes:
    schemas = schemas or default_schemas()
    body = {
        "hode": header.to_data(),
        "innsendingsreferanse": submission_reference,
        "operasjon": operation,
        "dokumenter": {
            "dokument": [
                {"dokumentreferanse": d.reference, d.kind: in_document_namespace(d.data), "signaturer": {}}
                for d in documents
            ]
        },
    }
    root = schemas.encode("tinglysingsforsendelse", body)
    placed = root.iter(f"{{{TINGLYSING_NS}}}dokument")
    for document, element in zip(documents, list(placed), strict=True):
        inner = element.find(document_tag(document.kind))
        if inner is None:
            raise ValueError(f"the encoded package has no {document.kind} placeholder")
        if document.presigned is not None:
            signatures = [copy.deepcopy(s) for s in document.presigned.signatures]
            replace_with(inner, copy.deepcopy(document.presigned.element), signatures)
        else:
            sign_in_place(inner, list(document.signers))
    return etree.tostring(sign_enveloped(root, credential), xml_declaration=True, encoding="UTF-8")
