"""The registration family's XML, read and written with xmlschema against xsd/tinglysing.xsd.

Incoming packages are decoded into the register's plain objects; outgoing statuses are encoded from data by
the schema's encoder (never by string building), so what Kartverket sends is valid by construction, and then
signed with Kartverket's enterprise certificate. The documents of a package (``eierskifte``, ``pant``,
``sletting``, ``samtykke``) are in the document namespace of xsd/dokument.xsd, not the registration one:
they arrive exactly as their signers signed them inside other messages.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import xmlschema
from lxml import etree

from broker.config import REPO_XSD_DIR
from broker.xml.keys import SigningCredential
from broker.xml.signing import sign_enveloped_bytes
from participants.kartverket.controls import ControlResult, Outcome
from participants.kartverket.model import (
    Borettslagsandel,
    DocumentNumber,
    Dokument,
    Eierskifte,
    Matrikkelenhet,
    Operation,
    Pant,
    Party,
    RegisteredDocument,
    Registerenhet,
    RightRef,
    Samtykke,
    Share,
    Sletting,
)
from participants.kartverket.register import NORWAY
from participants.messages.schemas import as_source, encoded_element

NAMESPACE = "urn:no:dsve:tinglysing:v1"
DOCUMENT_NAMESPACE = "urn:no:dsve:dokument:v1"
SUBMISSION_TAG = f"{{{NAMESPACE}}}tinglysingsforsendelse"
STATUS_TAG = f"{{{NAMESPACE}}}forsendelsesstatus"
MOTTATT = "MOTTATT"
AVSLUTTET = "AVSLUTTET"


@lru_cache(maxsize=1)
def tinglysing_schema() -> xmlschema.XMLSchema10:
    """The registration schema, loaded once per process: building it is the slow part of xmlschema."""
    return xmlschema.XMLSchema10(REPO_XSD_DIR / "tinglysing.xsd")


class SubmissionUnreadable(ValueError):
    """The package does not match the schema; ``header`` is set when a reply can still be addressed."""

    def __init__(self, problems: list[str], header: Header | None) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
        self.header = header


@dataclass(frozen=True, slots=True)
class Header:
    """The routing fields of a received message that a reply needs."""

    message_id: str
    sender: Party
    recipient: Party
    sender_reference: str


@dataclass(frozen=True, slots=True)
class DecodedDocument:
    """One document of a package: its reference, the Id its signatures cover, and its content."""

    reference: str
    element_id: str
    document: Dokument


@dataclass(frozen=True, slots=True)
class Submission:
    header: Header
    innsendingsreferanse: str
    operation: Operation
    documents: tuple[DecodedDocument, ...]


def _party(data: dict[str, Any]) -> Party:
    if "person" in data:
        return Party.person(data["person"]["foedselsnummer"], data["person"]["navn"])
    return Party.organisation(data["organisasjon"]["orgnr"], data["organisasjon"]["navn"])


def _unit(data: dict[str, Any]) -> Registerenhet:
    if "borettslagsandel" in data:
        share = data["borettslagsandel"]
        return Borettslagsandel(share["orgnr"], share["andelsnummer"])
    m = data["matrikkelenhet"]
    return Matrikkelenhet(
        m["kommunenummer"], m["gaardsnummer"], m["bruksnummer"], m.get("festenummer", 0), m.get("seksjonsnummer", 0)
    )


def _shares(data: dict[str, Any]) -> tuple[Share, ...]:
    return tuple(Share(_party(p), p["andel"]["teller"], p["andel"]["nevner"]) for p in data["part"])


def _right_ref(data: dict[str, Any]) -> RightRef:
    number = DocumentNumber(data["dokumentaar"], data["dokumentnummer"], data["embetenummer"])
    return RightRef(number, data["rettsstiftelsesnummer"])


def _document(reference: str, data: dict[str, Any]) -> tuple[str, Dokument]:
    if "eierskifte" in data:
        e = data["eierskifte"]
        doc: Dokument = Eierskifte(
            reference, _unit(e["registerenhet"]), _shares(e["overdragere"]), _shares(e["erververe"]), e["kjoepesum"]
        )
        return e["@Id"], doc
    if "pant" in data:
        p = data["pant"]
        org = p["panthaver"]
        mortgagors = tuple(Party.person(m["foedselsnummer"], m["navn"]) for m in p["pantsettere"]["pantsetter"])
        units = tuple(_unit(u) for u in p["registerenheter"]["registerenhet"])
        mortgagee = Party.organisation(org["orgnr"], org["navn"])
        return p["@Id"], Pant(reference, units, mortgagors, mortgagee, p["beloep"], p["prioritet"]["prioritetsnummer"])
    if "sletting" in data:
        s = data["sletting"]
        holder = Party.organisation(s["rettighetshaver"]["orgnr"], s["rettighetshaver"]["navn"])
        return s["@Id"], Sletting(reference, _unit(s["registerenhet"]), _right_ref(s["rettsstiftelse"]), holder)
    c = data["samtykke"]
    consent = Samtykke(
        reference,
        _unit(c["registerenhet"]),
        _right_ref(c["uraadighet"]),
        _party(c["samtykkegiver"]),
        tuple(c["gjelderDokumentreferanse"]),
    )
    return c["@Id"], consent


def _header(data: object) -> Header | None:
    hode = data.get("hode") if isinstance(data, dict) else None
    if not isinstance(hode, dict):
        return None
    try:
        return Header(
            hode["meldingsid"],
            Party.organisation(hode["avsender"]["orgnr"], hode["avsender"].get("navn", "")),
            Party.organisation(hode["mottaker"]["orgnr"], hode["mottaker"].get("navn", "")),
            hode["avsendersReferanse"],
        )
    except (KeyError, TypeError):
        return None


def decode_submission(root: etree._Element) -> Submission:
    """Decode a verified ``tinglysingsforsendelse``; raises SubmissionUnreadable when it breaks the schema."""
    if root.tag != SUBMISSION_TAG:
        name = etree.QName(root).localname
        raise SubmissionUnreadable([f"the root element is {name}, not a tinglysingsforsendelse"], None)
    # Names are checked with their namespaces while validating; the data drops them, so the documents read the
    # same whether the sender declared their namespace as the default or bound it to a prefix.
    decoded = tinglysing_schema().decode(as_source(root), validation="lax", strip_namespaces=True)
    if not isinstance(decoded, tuple):
        raise TypeError("xmlschema answers a lax decode with data and errors")
    data, errors = decoded
    header = _header(data)
    if errors or header is None:
        problems = [f"{error.path}: {error.reason}" for error in errors] or ["the header is incomplete"]
        raise SubmissionUnreadable(problems, header)
    documents = []
    for item in data["dokumenter"]["dokument"]:
        element_id, document = _document(item["dokumentreferanse"], item)
        documents.append(DecodedDocument(item["dokumentreferanse"], element_id, document))
    return Submission(header, data["innsendingsreferanse"], Operation(data["operasjon"]), tuple(documents))


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(NORWAY).isoformat(timespec="seconds")


def kartverket_reference(innsendingsreferanse: str) -> str:
    """Kartverket's own case reference for a package, the same in every status it sends about it."""
    return f"KV-{innsendingsreferanse}"[:64]


@dataclass(frozen=True, slots=True)
class StatusReport:
    """What one forsendelsesstatus says: the status, and with AVSLUTTET the outcome, findings and registrations."""

    innsendingsreferanse: str
    status: str
    outcome: Outcome | None = None
    results: tuple[ControlResult, ...] = ()
    registered: tuple[RegisteredDocument, ...] = ()


def _result_data(result: ControlResult) -> dict[str, Any]:
    data: dict[str, Any] = {"kode": result.code, "tekst": result.text}
    if result.document_index is not None:
        data = {"dokumentindeks": result.document_index, **data}
    return data


def _registered_data(doc: RegisteredDocument) -> dict[str, Any]:
    return {
        "dokumentreferanse": doc.reference,
        "dokumentaar": doc.number.year,
        "dokumentnummer": doc.number.number,
        "embetenummer": doc.number.embete,
        "rettsstiftelsesnummer": [ref.rettsstiftelsesnummer for ref in doc.rights] or [1],
        "tinglyst": _timestamp(doc.registered_at),
    }


def encode_status(report: StatusReport, request: Header, kartverket: Party, now: datetime) -> bytes:
    """An unsigned ``forsendelsesstatus`` answering ``request``, with a new message id."""
    recipient = {"orgnr": request.sender.ident}
    if request.sender.name:
        recipient["navn"] = request.sender.name
    data: dict[str, Any] = {
        "hode": {
            "meldingsid": str(uuid.uuid4()),
            "opprettet": _timestamp(now),
            "avsender": {"orgnr": kartverket.ident, "navn": kartverket.name or "Kartverket"},
            "mottaker": recipient,
            "avsendersReferanse": kartverket_reference(report.innsendingsreferanse),
            "mottakersReferanse": request.sender_reference,
        },
        "innsendingsreferanse": report.innsendingsreferanse,
        "status": report.status,
    }
    if report.outcome is not None:
        data["utfall"] = report.outcome.value
    if report.results:  # only what was found: a package that passes carries no made-up result
        data["kontrollresultater"] = {"kontrollresultat": [_result_data(r) for r in report.results]}
    if report.registered:
        data["tinglysteDokumenter"] = {"tinglystDokument": [_registered_data(d) for d in report.registered]}
    element = encoded_element(
        tinglysing_schema().encode(data, path=STATUS_TAG, namespaces={"": NAMESPACE}, etree_element_class=etree.Element)
    )
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8")


def signed_status(
    report: StatusReport, request: Header, kartverket: Party, now: datetime, credential: SigningCredential
) -> bytes:
    """The status, encoded and signed with Kartverket's enterprise credential."""
    return sign_enveloped_bytes(encode_status(report, request, kartverket, now), credential)
