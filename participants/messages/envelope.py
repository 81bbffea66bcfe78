"""Sealing outgoing messages and opening received ones.

Outgoing: typed data → xmlschema encoding (which validates) → personal signatures over inner documents →
the sender's enveloped signature. Incoming: the broker's hardened parser → the sender's signature checked
when a verifier is given → xmlschema decoding into plain data with a typed header.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from broker.config import XmlLimits
from broker.xml.keys import SigningCredential
from broker.xml.parsing import parse_xml
from broker.xml.signing import sign_enveloped
from broker.xml.trust import SignerIdentity
from broker.xml.verification import SignatureVerifier, require_signer_orgnr
from participants.messages.header import Header
from participants.messages.inner import document_tag, embed_signed
from participants.messages.schemas import MessageSchemas, default_schemas


def seal(
    message_type: str,
    header: Header,
    body: Mapping[str, Any],
    credential: SigningCredential,
    inner_signers: Mapping[str, Sequence[SigningCredential]] | None = None,
    schemas: MessageSchemas | None = None,
) -> bytes:
    """Build, sign and serialise one message.

    ``inner_signers`` maps the element name of each signed inner document (``pant``, ``sletting``) to the
    credentials of everyone who must sign it; they sign before the sender, whose signature then covers
    theirs.
    """
    schemas = schemas or default_schemas()
    root = schemas.encode(message_type, {"hode": header.to_data(), **body})
    for element_name, signers in (inner_signers or {}).items():
        embed_signed(root, element_name, list(signers))
    return etree.tostring(sign_enveloped(root, credential), xml_declaration=True, encoding="UTF-8")


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """A received message: its type, header and decoded body, and the parsed tree for signed inner documents."""

    message_type: str
    header: Header
    body: dict[str, Any]
    root: etree._Element = field(repr=False)
    raw: bytes = field(repr=False)
    signer: SignerIdentity | None = None

    def element(self, local_name: str, index: int = 0) -> etree._Element:
        """The ``index``-th element of the message's own family namespace with this local name."""
        namespace = etree.QName(self.root).namespace
        return list(self.root.iter(f"{{{namespace}}}{local_name}"))[index]

    def document(self, kind: str, index: int = 0) -> etree._Element:
        """The ``index``-th signed inner document of this kind (``pant``, ``sletting``), in the document
        namespace."""
        return list(self.root.iter(document_tag(kind)))[index]


def open_message(
    raw: bytes,
    verifier: SignatureVerifier | None = None,
    schemas: MessageSchemas | None = None,
    limits: XmlLimits | None = None,
) -> ReceivedMessage:
    """Parse with the hardened parser, check the sender's signature when a verifier is given, and decode.

    With a verifier, everything is read from what the signature covers, and the signer must be the sender
    the header names.
    """
    schemas = schemas or default_schemas()
    tree = parse_xml(raw, limits or XmlLimits())
    root = tree.getroot()
    verified = verifier.verify_enveloped(tree) if verifier is not None else None
    if verified is not None:
        root = verified.root
    message_type, data = schemas.decode(root)
    header = Header.from_data(data.pop("hode"))
    signer = require_signer_orgnr(verified.signer, header.sender.orgnr) if verified is not None else None
    return ReceivedMessage(message_type.name, header, data, root, raw, signer)
