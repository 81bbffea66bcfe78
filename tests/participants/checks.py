"""Independent checks on what the simulators send: lxml's XSD validation and the broker's verifier."""

from __future__ import annotations

from functools import cache

from lxml import etree

from broker.config import REPO_XSD_DIR
from broker.xml.catalogue import compile_schema
from broker.xml.verification import SignatureVerifier
from participants.messages.schemas import default_schemas


@cache
def lxml_schema(schema_file: str) -> etree.XMLSchema:
    return compile_schema(REPO_XSD_DIR / schema_file)


def assert_valid_and_signed(raw: bytes, verifier: SignatureVerifier) -> str:
    """The message validates against its XSD with lxml and its sender's signature verifies; answers its type."""
    root = etree.fromstring(raw)
    message_type = default_schemas().type_of(root)
    schema = lxml_schema(message_type.schema_file.name)
    assert schema.validate(root), f"{message_type.name}: {schema.error_log}"
    verified = verifier.verify_enveloped(root)
    sender = verified.root.findtext(
        f"{{{message_type.namespace}}}hode/{{{message_type.namespace}}}avsender/{{{message_type.namespace}}}orgnr"
    )
    assert verified.signer.orgnr == sender
    return message_type.name
