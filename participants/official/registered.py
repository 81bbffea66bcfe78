"""What Kartverket's final ``forsendelsesstatus`` says was registered: per document reference, the document
number it got and the number of its first right. The megler needs them to tell the buyers' bank which
document is registered and to find the bank's mortgage in the grunnbok when it checks the priority reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lxml import etree

from participants.kartverket.etinglysing.schema import NAMESPACE
from participants.messages.model import RightReference

_NS = {"i": NAMESPACE}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True)


@dataclass(frozen=True, slots=True)
class RegisteredDocument:
    """One registered document as the status reports it."""

    reference: str
    right: RightReference

    @property
    def number(self) -> str:
        return f"{self.right.year}/{self.right.document_number}"


@dataclass(frozen=True, slots=True)
class FinalStatus:
    outcome: str
    registered_at: datetime | None
    documents: dict[str, RegisteredDocument]


def read_status(status: bytes) -> FinalStatus:
    """The outcome, the registration time and the registered documents of one ``forsendelsesstatus``."""
    root = etree.fromstring(status, _PARSER)
    documents: dict[str, RegisteredDocument] = {}
    for info in root.iterfind("i:tinglysingsinformasjon/i:dokumentinformasjon/i:dokumentinformasjon", _NS):
        reference = info.findtext("i:dokumentreferanse", namespaces=_NS) or ""
        right = info.findtext(".//i:rettsstiftelsesinformasjon/i:rettsstiftelsesnummer", namespaces=_NS)
        documents[reference] = RegisteredDocument(
            reference,
            RightReference(
                int(info.findtext("i:dokumentaar", namespaces=_NS) or 0),
                int(info.findtext("i:dokumentnummer", namespaces=_NS) or 0),
                int(info.findtext("i:embetenummer", namespaces=_NS) or 0),
                int(right or 1),
            ),
        )
    at = root.findtext("i:registreringstidspunkt", namespaces=_NS) or root.findtext(
        ".//i:registreringstidspunkt", namespaces=_NS
    )
    return FinalStatus(
        root.findtext("i:behandlingsutfall", namespaces=_NS) or "",
        datetime.fromisoformat(at) if at else None,
        documents,
    )
