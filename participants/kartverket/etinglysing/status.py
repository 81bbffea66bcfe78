"""``forsendelsesstatus`` as innsending.xsd defines it, built as data and encoded by the schema's encoder
(never by string building), so every status the simulator sends is valid by construction.

The data is kept (as JSON) with the submission: hentStatus answers it again, and a case officer's decision
re-encodes it with the final outcome.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from lxml import etree

from participants.kartverket.etinglysing.controls import Behandlingsutfall, Kontrollresultat, Saksstatus
from participants.kartverket.etinglysing.model import Tinglyst
from participants.kartverket.etinglysing.pdf import text_pdf
from participants.kartverket.etinglysing.schema import NAMESPACE, InnsendingSchema
from participants.kartverket.extract import format_extract
from participants.kartverket.model import Borettslagsandel, Grunnboksutskrift, Registerenhet
from participants.kartverket.register import NORWAY

StatusData = dict[str, Any]


def timestamp(moment: datetime) -> str:
    return moment.astimezone(NORWAY).isoformat(timespec="seconds")


def registerenhet_data(unit: Registerenhet) -> dict[str, Any]:
    if isinstance(unit, Borettslagsandel):
        return {"borettslagsandel": {"borettslagnummer": unit.orgnr, "andelsnummer": unit.andelsnummer}}
    return {
        "matrikkelenhet": {
            "kommunenummer": unit.kommunenummer,
            "gaardsnummer": unit.gaardsnummer,
            "bruksnummer": unit.bruksnummer,
            "festenummer": unit.festenummer,
            "seksjonsnummer": unit.seksjonsnummer,
        }
    }


def kontrollresultat_data(result: Kontrollresultat) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if result.dokumentindeks is not None:
        data["dokumentindeks"] = result.dokumentindeks
    if result.rettsstiftelsesindeks is not None:
        data["rettsstiftelsesindeks"] = result.rettsstiftelsesindeks
    reasons = []
    for text in result.begrunnelser or (result.kontroll.navn,):
        reason: dict[str, Any] = {"kodeverdi": result.kontroll.kodeverdi, "tekst": text}
        if result.elementnavn:
            reason["elementnavn"] = result.elementnavn
        reasons.append({**reason, "utfall": result.utfall.value})
    data.update(
        kodeverdi=result.kontroll.kodeverdi,
        navn=result.kontroll.navn,
        utfall=result.utfall.value,
        begrunnelser={"begrunnelse": reasons},
    )
    return data


def behandlingsinformasjon(results: list[Kontrollresultat]) -> dict[str, Any]:
    listed = [kontrollresultat_data(r) for r in results]
    return {"kontrollresultater": {"kontrollresultat": listed} if listed else {}}


def tinglysingsinformasjon(tinglyst: list[Tinglyst]) -> dict[str, Any]:
    return {
        "dokumentinformasjon": {
            "dokumentinformasjon": [
                {
                    "dokumentreferanse": doc.dokumentreferanse,
                    "dokumentaar": doc.number.year,
                    "dokumentnummer": doc.number.number,
                    "embetenummer": str(doc.number.embete),
                    "rettsstiftelsesinformasjon": {
                        "rettsstiftelsesinformasjon": [
                            {"rettsstiftelsesreferanse": ref, "rettsstiftelsesnummer": number}
                            for ref, number in doc.rights
                        ]
                    },
                    "paavirkerRegisterenheter": {"registerenhet": [registerenhet_data(u) for u in doc.units]},
                }
                for doc in tinglyst
            ]
        }
    }


def grunnboksutskrifter(
    extracts: list[Grunnboksutskrift], references: dict[str, list[str]], link_base: str, innsending_id: int
) -> dict[str, Any]:
    """One extract per affected unit, as a PDF, with the documents of this submission that touched it."""
    return {
        "usignertGrunnboksutskrift": [
            {
                "gjelderFor": registerenhet_data(extract.unit),
                "link": f"{link_base.rstrip('/')}/{innsending_id}/{extract.unit.key}",
                "utskrift": {"usignertDokument": base64.b64encode(text_pdf(format_extract(extract))).decode("ascii")},
                "dokumentreferanser": {"dokumentreferanse": references.get(extract.unit.key, [])},
            }
            for extract in extracts
        ]
    }


def base_status(
    forsendelsesreferanse: str,
    saksstatus: Saksstatus | None,
    utfall: Behandlingsutfall | None,
    innsending_id: int | None = None,
) -> StatusData:
    data: StatusData = {}
    if innsending_id is not None:
        data["innsendingId"] = str(innsending_id)
    data["forsendelsesreferanse"] = forsendelsesreferanse
    if utfall is not None:
        data["behandlingsutfall"] = utfall.value
    if saksstatus is not None:
        data["saksstatus"] = saksstatus.value
    return data


def encode(data: StatusData, schema: InnsendingSchema) -> bytes:
    element = schema.decoder.encode(
        data, path=f"{{{NAMESPACE}}}forsendelsesstatus", namespaces={"": NAMESPACE}, etree_element_class=etree.Element
    )
    if not isinstance(element, etree._Element):
        raise TypeError("the status data does not encode to one element")
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8")
