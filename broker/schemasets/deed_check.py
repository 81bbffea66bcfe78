"""What the broker can verify of a mortgage deed in the official profile, and what it cannot.

The official process carries no signature of the sending organisation over its files: Altinn authenticates
the sender, and the deed itself is signed by the mortgagors with BankID, as an SDO (SEID-SDO, CMS signatures
by BankID certificates) or a PAdES PDF. Checking those needs BankID's roots and revocation services and ends
at a BankID PID, not a fødselsnummer, so the broker leaves them to the recipient's system and to Kartverket,
who verify them, and carries ``.sdo``/``.pdf`` deeds and an XML deed whose root is an ``SDOList`` unread.

A deed sent as Kartverket's own ``dokument`` (the innsending schema's element, the form the simulators use
in a test environment where no BankID exists) is different: its ``pant`` can carry XML signatures by the
mortgagors' personal certificates (``Id`` on the ``pant``, a ``signaturer`` after it, as in the native
profile), and those the broker can verify for real: every signature against the trusted personal CAs
(``DSVE_TRUST_PERSONAL_CA_FILES``), the content unchanged, and every ``pantsetter`` among the signers. A
``dokument`` deed whose ``pant`` is unsigned is refused: it is no signed mortgage deed.
"""

from __future__ import annotations

from lxml import etree

from broker.config import XmlLimits
from broker.domain.errors import Refusal
from broker.schemasets.findings import Finding
from broker.xml.inner_signatures import SignedDocument, SignedDocuments
from broker.xml.parsing import parse_xml
from broker.xml.verification import SignatureVerifier

INNSENDING_NS = "http://kartverket.no/grunnbok/wsapi/v2/domain/innsending"
SDO_ROOT = "SDOList"

_PANT = SignedDocument(
    f"{{{INNSENDING_NS}}}pant",
    (etree.XPath("d:pantsettere/d:person/d:identifikasjonsnummer/text()", namespaces={"d": INNSENDING_NS}),),
    "a mortgage: signed by every pantsetter",
)


class MortgageDeedCheck:
    """Checks an XML mortgage deed's signatures where the broker can (see the module docstring)."""

    def __init__(self, verifier: SignatureVerifier, limits: XmlLimits | None = None) -> None:
        self._verifier = verifier
        self._limits = limits or XmlLimits()
        self._documents = SignedDocuments({_PANT.tag: _PANT})

    def __call__(self, file: str, data: bytes) -> list[Finding]:
        """The findings that refuse the deed in ``file``; none for a valid signed deed or a BankID SDO."""
        try:
            root = parse_xml(data, self._limits).getroot()
        except Refusal as refusal:
            return [Finding(file, f"the mortgage deed cannot be read: {refusal.detail}", code="deed:format")]
        name = etree.QName(root)
        if name.localname == SDO_ROOT:
            return []
        if name.text != f"{{{INNSENDING_NS}}}dokument":
            return [
                Finding(
                    file,
                    f"the mortgage deed's root {name.localname} is neither a BankID SDO (SDOList) nor Kartverket's"
                    " dokument",
                    code="deed:format",
                )
            ]
        if next(root.iter(_PANT.tag), None) is None:
            return [Finding(file, "the mortgage deed holds no pant", code="deed:format")]
        try:
            self._documents.check(root, self._verifier)
        except Refusal as refusal:
            return [Finding(file, f"the mortgage deed: {refusal.detail}", code="deed:signature")]
        return []
