"""A ``forsendelse`` with a ``signertMelding``: SEID-SDO documents signed with BankID.

Kartverket first turns a signed message into an unsigned one (each SDO's BIDXML content becomes a
``dokument``, the signers' identifiers become the signatures) and reports any failure of that step as
control results; then both kinds are judged alike. The identifiers behind BankID signatures come from
BankID's own lookup service, which the simulator does not have, and it trusts no BankID CA: it reads the
SDO, names each signer's certificate and its validity in the control result, and returns the submission.
"""

from __future__ import annotations

import base64
import binascii
import warnings
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7
from lxml import etree

from broker.config import XmlLimits
from broker.domain.errors import Refusal
from broker.xml.parsing import parse_xml
from participants.kartverket.etinglysing.controls import Kontroll, Kontrollresultat
from participants.kartverket.etinglysing.decode import decode_forsendelse
from participants.kartverket.etinglysing.model import Dokument, Forsendelse
from participants.kartverket.etinglysing.schema import NAMESPACE, InnsendingSchema, decode_data

SDO_NAMESPACE = "http://www.npt.no/seid/xmlskjema/SDO_v1.0"
_LIMITS = XmlLimits(max_bytes=8 * 1024 * 1024)


def _sdo(encoded: str) -> etree._Element | None:
    try:
        return parse_xml(base64.b64decode("".join(encoded.split()), validate=True), _LIMITS).getroot()
    except (binascii.Error, ValueError, Refusal):
        return None


def _signed_content(sdo: etree._Element) -> etree._Element | None:
    """The XML part of the BIDXML the signers saw (between <BIDXML> and </BIDXML>)."""
    node = sdo.find(f".//{{{SDO_NAMESPACE}}}SignersDocument")
    if node is None or not node.text:
        return None
    try:
        text = base64.b64decode("".join(node.text.split())).decode("latin-1")
    except (binascii.Error, ValueError):
        return None
    start, end = text.find("<BIDXML>"), text.find("</BIDXML>")
    content = text[start + len("<BIDXML>") : end] if 0 <= start < end else text
    try:
        return parse_xml(content.strip().encode("latin-1"), _LIMITS).getroot()
    except (Refusal, UnicodeEncodeError):
        return None


def _signer_notes(sdo: etree._Element, now: datetime) -> list[str]:
    notes = []
    for cms in sdo.iterfind(f".//{{{SDO_NAMESPACE}}}CMSSignature"):
        try:
            with warnings.catch_warnings():  # BankID's CMS is BER; cryptography reads it and warns
                warnings.simplefilter("ignore", UserWarning)
                certificates = pkcs7.load_der_pkcs7_certificates(base64.b64decode("".join((cms.text or "").split())))
        except (ValueError, binascii.Error):
            notes.append("en CMS-signatur kan ikke leses")
            continue
        for cert in certificates[:1] if certificates else []:
            notes.append(_describe(cert, now))
    return notes or ["dokumentet har ingen signaturer"]


def _describe(cert: x509.Certificate, now: datetime) -> str:
    subject = cert.subject.rfc4514_string()
    issuer = cert.issuer.rfc4514_string()
    expired = cert.not_valid_after_utc < now
    validity = (
        f"utløpt {cert.not_valid_after_utc:%Y-%m-%d}" if expired else f"gyldig til {cert.not_valid_after_utc:%Y-%m-%d}"
    )
    return f"signert med {subject}, {validity}, utstedt av {issuer}: ikke en godkjent BankID-utsteder"


def open_signed(root: etree._Element, schema: InnsendingSchema) -> tuple[Forsendelse, list[Kontrollresultat]]:
    """The forsendelse as an unsigned one, with control results for the signatures that cannot be accepted."""
    forsendelse = decode_forsendelse(root, schema)
    if not forsendelse.signed:
        return forsendelse, []
    now = datetime.now(UTC)
    results: list[Kontrollresultat] = []
    documents: list[Dokument] = []
    encoded = root.findall(f"{{{NAMESPACE}}}signertMelding/{{{NAMESPACE}}}dokumenter/{{{NAMESPACE}}}SDODokument")
    for index, item in enumerate(encoded):
        sdo = _sdo(item.findtext(f"{{{NAMESPACE}}}signertDokument") or "")
        content = _signed_content(sdo) if sdo is not None else None
        if sdo is None or content is None or not schema.validator.validate(content):
            results.append(Kontrollresultat(Kontroll.SIGNATUR_UGYLDIG, index + 1, None, ("SDO-en kan ikke leses",)))
            continue
        melding = etree.Element(f"{{{NAMESPACE}}}usignertMelding")
        etree.SubElement(melding, f"{{{NAMESPACE}}}dokumenter").append(content)
        unsigned = decode_forsendelse_melding(melding, schema, forsendelse.forsendelsesreferanse)
        documents.extend(Dokument(d.reference, index, d.rettsstiftelser) for d in unsigned.dokumenter)
        results.append(Kontrollresultat(Kontroll.SIGNATUR_UGYLDIG, index + 1, None, tuple(_signer_notes(sdo, now))))
    innsender, order = "", tuple(d.reference for d in documents)
    letter = root.findtext(f"{{{NAMESPACE}}}signertMelding/{{{NAMESPACE}}}foelgebrev/{{{NAMESPACE}}}signertDokument")
    letter_sdo = _sdo(letter or "")
    content = _signed_content(letter_sdo) if letter_sdo is not None else None
    if content is not None and schema.validator.validate(content):
        data = decode_data(schema, content)
        innsender = str(data["innsender"]["identifikasjonsnummer"])
        order = tuple(str(r["gjelderDokumentreferanse"]) for r in data["dokumentrekkefoelge"].get("referanse", []))
    else:
        reason = "det signerte følgebrevet følger ikke innsending.xsd" if content is not None else "følgebrevet mangler"
        results.append(Kontrollresultat(Kontroll.SIGNATUR_UGYLDIG, None, None, (reason,), "foelgebrev"))
    signed = Forsendelse(forsendelse.forsendelsesreferanse, innsender, tuple(documents), order, {}, signed=True)
    return signed, results


def decode_forsendelse_melding(melding: etree._Element, schema: InnsendingSchema, reference: str) -> Forsendelse:
    """Decode a built ``usignertMelding`` through the same path as a received one."""
    forsendelse = etree.Element(f"{{{NAMESPACE}}}forsendelse")
    etree.SubElement(forsendelse, f"{{{NAMESPACE}}}forsendelsesreferanse").text = reference
    forsendelse.append(melding)
    return decode_forsendelse(forsendelse, schema)
