"""Signed deed packages for the tests, built the way a megler system would: encode the package with the
schema, add each document's personal or enterprise signatures, then sign the whole message."""

from __future__ import annotations

from typing import Any

from lxml import etree

from broker.xml.pki import TestPki
from broker.xml.signing import sign_enveloped, sign_inner_document
from participants.kartverket.messages import DOCUMENT_NAMESPACE, NAMESPACE, SUBMISSION_TAG, tinglysing_schema
from participants.kartverket.model import Matrikkelenhet, Party, Share
from participants.kartverket.seed import DEMO_SALE

NS = {"t": NAMESPACE, "d": DOCUMENT_NAMESPACE}


def party_data(party: Party) -> dict[str, Any]:
    if party.kind == "person":
        return {"person": {"foedselsnummer": party.ident, "navn": party.name}}
    return {"organisasjon": {"orgnr": party.ident, "navn": party.name}}


def unit_data(unit: Matrikkelenhet) -> dict[str, Any]:
    return {
        "matrikkelenhet": {
            "kommunenummer": unit.kommunenummer,
            "gaardsnummer": unit.gaardsnummer,
            "bruksnummer": unit.bruksnummer,
            "festenummer": unit.festenummer,
            "seksjonsnummer": unit.seksjonsnummer,
        }
    }


def shares_data(shares: tuple[Share, ...]) -> dict[str, Any]:
    return {"part": [{**party_data(s.holder), "andel": {"teller": s.teller, "nevner": s.nevner}} for s in shares]}


def demo_document_data() -> list[dict[str, Any]]:
    unit = unit_data(DEMO_SALE.unit)
    old = DEMO_SALE.existing_mortgage
    return [
        {
            "dokumentreferanse": "skjoete-1",
            "eierskifte": {
                "@xmlns": DOCUMENT_NAMESPACE,
                "@Id": "eierskifte-1",
                "registerenhet": unit,
                "overdragere": shares_data(DEMO_SALE.sellers),
                "erververe": shares_data(DEMO_SALE.buyers),
                "kjoepesum": DEMO_SALE.kjoepesum,
            },
            "signaturer": {},
        },
        {
            "dokumentreferanse": "pant-1",
            "pant": {
                "@xmlns": DOCUMENT_NAMESPACE,
                "@Id": "pant-1",
                "panthaver": party_data(DEMO_SALE.buyers_bank)["organisasjon"],
                "pantsettere": {"pantsetter": [party_data(s.holder)["person"] for s in DEMO_SALE.buyers]},
                "beloep": DEMO_SALE.new_mortgage_beloep,
                "registerenheter": {"registerenhet": [unit]},
                "prioritet": {"prioritetsnummer": 1},
            },
            "signaturer": {},
        },
        {
            "dokumentreferanse": "sletting-1",
            "sletting": {
                "@xmlns": DOCUMENT_NAMESPACE,
                "@Id": "sletting-1",
                "registerenhet": unit,
                "rettsstiftelse": {
                    "dokumentaar": old.document.year,
                    "dokumentnummer": old.document.number,
                    "embetenummer": old.document.embete,
                    "rettsstiftelsesnummer": old.rettsstiftelsesnummer,
                },
                "rettighetshaver": party_data(DEMO_SALE.sellers_bank)["organisasjon"],
            },
            "signaturer": {},
        },
    ]


DEMO_SIGNERS: dict[str, tuple[str, ...]] = {
    "eierskifte-1": tuple(s.holder.ident for s in DEMO_SALE.sellers),
    "pant-1": tuple(s.holder.ident for s in DEMO_SALE.buyers),
    "sletting-1": (DEMO_SALE.sellers_bank.ident,),
}


def package_element(
    documents: list[dict[str, Any]], reference: str = "FJM-20261214-0001", operation: str = "tinglys"
) -> etree._Element:
    data = {
        "hode": {
            "meldingsid": "6f1d2c3b-8a47-4e5f-9b10-2c3d4e5f6a71",
            "opprettet": "2026-12-14T09:02:00+01:00",
            "avsender": {"orgnr": DEMO_SALE.megler.ident, "navn": DEMO_SALE.megler.name},
            "mottaker": {"orgnr": DEMO_SALE.kartverket.ident, "navn": DEMO_SALE.kartverket.name},
            "avsendersReferanse": "OPPGJ-2026-0412",
        },
        "innsendingsreferanse": reference,
        "operasjon": operation,
        "dokumenter": {"dokument": documents},
    }
    return tinglysing_schema().encode(
        data, path=SUBMISSION_TAG, namespaces={"": NAMESPACE}, etree_element_class=etree.Element
    )


def sign_documents(root: etree._Element, pki: TestPki, signers: dict[str, tuple[str, ...]]) -> None:
    for element_id, identities in signers.items():
        element = root.xpath("//*[@Id=$id]", id=element_id)[0]
        container = element.getnext()
        for identity in identities:
            sign_inner_document(root, element_id, container, pki.credential(identity))


def signed_package(
    pki: TestPki,
    documents: list[dict[str, Any]] | None = None,
    signers: dict[str, tuple[str, ...]] | None = None,
    *,
    reference: str = "FJM-20261214-0001",
    operation: str = "tinglys",
    sender: str = DEMO_SALE.megler.ident,
) -> etree._Element:
    root = package_element(documents or demo_document_data(), reference, operation)
    sign_documents(root, pki, DEMO_SIGNERS if signers is None else signers)
    return sign_enveloped(root, pki.credential(sender))
