"""The buyers' bank's conditions letter (``Forutsetningsbrev``, ``coverletter_*.xml`` beside a mortgage deed
when the manifest says ``coverLetter=XmlAttached``): the amount it transfers, to which account, and the priority
its mortgage must get. The megler keeps that priority and tells the bank it is reached only when the grunnbok
shows it (``OppnaaddPrioritetOk``).

Built and read with ``afpant-forutsetningsbrev.xsd`` from the ``dsve`` schema set's directory (the
specification's, never part of the project).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import xmlschema
from lxml import etree

from participants.cases import SaleCase
from participants.messages.model import Borettslagsandel, Matrikkelenhet
from participants.messages.schemas import as_source, encoded_element

SCHEMA_FILE = "afpant-forutsetningsbrev.xsd"
ROOT = "Forutsetningsbrev"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True)


class CoverLetterSchema:
    """The conditions letter's schema, loaded once from the schema set's directory."""

    def __init__(self, directory: Path) -> None:
        self.schema = xmlschema.XMLSchema10(str(Path(directory) / SCHEMA_FILE))

    def encode(self, data: dict[str, Any]) -> bytes:
        element = encoded_element(
            self.schema.encode(data, path=ROOT, validation="strict", etree_element_class=etree.Element)
        )
        return bytes(etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True))

    def decode(self, data: bytes) -> dict[str, Any]:
        """The letter as data; ValueError when it is not a valid conditions letter."""
        try:
            root = etree.fromstring(data, _PARSER)
            if etree.QName(root).localname != ROOT:
                raise ValueError(f"{etree.QName(root).localname} is no {ROOT}")
            decoded = self.schema.decode(as_source(root), validation="strict")
        except (etree.XMLSyntaxError, xmlschema.XMLSchemaValidationError) as exc:
            raise ValueError(str(exc).splitlines()[0]) from exc
        if not isinstance(decoded, dict):
            raise ValueError(f"{ROOT} did not decode to a mapping")
        return dict(decoded)


def _unit(case: SaleCase) -> dict[str, Any]:
    unit = case.unit
    if isinstance(unit, Matrikkelenhet):
        return {
            "Kommunenummer": unit.kommunenummer,
            "Gardsnummer": str(unit.gaardsnummer),
            "Bruksnummer": str(unit.bruksnummer),
            "Festenummer": str(unit.festenummer),
            "Seksjonsnummer": str(unit.seksjonsnummer),
            "Adresse": case.address,
        }
    if isinstance(unit, Borettslagsandel):
        return {"Organisasjonsnummer": unit.orgnr, "Andelsnummer": str(unit.andelsnummer), "Adresse": case.address}
    raise TypeError(f"no conditions-letter form for {unit!r}")


def cover_letter(
    schema: CoverLetterSchema,
    case: SaleCase,
    bank_reference: str,
    to_account: str,
    transfer_on: date,
    produced: datetime,
    first_priority: bool = True,
) -> bytes:
    """The buyers' bank's letter for its mortgage deed in ``case``: the loan paid to the megler's client
    account ``to_account`` on ``transfer_on``, on condition of first priority (or none stated)."""
    return schema.encode(
        {
            "Kreditor": {"Nummer": case.buyers_bank.orgnr, "Navn": case.buyers_bank.name},
            "Debitorer": {"RettighetsHaver": [{"Nummer": p.fodselsnummer, "Navn": p.name} for p in case.buyer_persons]},
            "Registerenheter": {"Registerenhet": [_unit(case)]},
            "PantedokumentDetaljer": {"Beloep": float(case.new_mortgage_amount), "ForstePrioritet": first_priority},
            "OverfoerselDetaljer": {
                "Beloep": float(case.new_mortgage_amount),
                "BeloepOverforesDato": transfer_on.isoformat(),
                "TotalBeloep": float(case.new_mortgage_amount),
                "TilKontonummer": to_account,
                "KreditorSaksnummer": bank_reference,
                "MeglerSaksnummer": case.reference,
                "ProdusertDato": produced.isoformat(timespec="seconds"),
            },
            "Avsender": {"Navn": case.buyers_bank.name},
            "Mottaker": {"Navn": case.megler.name, "Organisasjonsnummer": case.megler.orgnr},
        }
    )


def agreed_priority(schema: CoverLetterSchema, data: bytes) -> int | None:
    """1 when the letter asks for first priority; None when it states the priority relative to other
    mortgages (``Prioritet``), which a settlement clerk checks by hand."""
    details = schema.decode(data)["PantedokumentDetaljer"]
    return 1 if details.get("ForstePrioritet") is True else None
