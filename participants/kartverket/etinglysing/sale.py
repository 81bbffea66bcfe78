"""A sale's deed and the buyers' mortgage as the megler sends them to Kartverket: one ``forsendelse`` per
innsending.xsd with two documents, the transfer first (signed by the sellers) and the mortgage after it
(signed by the buyers, who own the unit once the transfer is judged). Built as data and encoded by the schema.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from participants.cases import SaleCase
from participants.kartverket.etinglysing.schema import NAMESPACE, InnsendingSchema
from participants.messages.model import Borettslagsandel, Person, Share

Data = dict[str, Any]
DEED = "skjoete"
MORTGAGE = "pant"


def _code(value: str, name: str) -> Data:
    return {"kodeverdi": value, "navn": name}


def _amount(value: int) -> Data:
    return {"beloepsverdi": value, "valutakode": _code("NOK", "Norske kroner")}


def _person(ident: str, name: str) -> Data:
    return {"navn": name, "identifikasjonsnummer": ident}


def _share(share: Share) -> Data:
    party = share.party
    ident = party.fodselsnummer if isinstance(party, Person) else party.orgnr
    fraction = share.fraction
    return {"teller": fraction.numerator, "nevner": fraction.denominator, "rettighetshaver": _person(ident, party.name)}


def _unit_right(sale: SaleCase) -> Data:
    unit = sale.unit
    if isinstance(unit, Borettslagsandel):
        registerenhet: Data = {"borettslagsandel": {"borettslagnummer": unit.orgnr, "andelsnummer": unit.andelsnummer}}
    else:
        registerenhet = {
            "matrikkelenhet": {
                "kommunenummer": unit.kommunenummer,
                "gaardsnummer": unit.gaardsnummer,
                "bruksnummer": unit.bruksnummer,
                "festenummer": unit.festenummer,
                "seksjonsnummer": unit.seksjonsnummer,
            }
        }
    return {"registerenhetsrettstype": _code("E", "Eiendomsrett"), "registerenhet": registerenhet}


def _declarations(persons: tuple[Person, ...]) -> Data:
    return {
        "erklaeringOmSivilstand": [
            {"erklaeringFor": _person(p.fodselsnummer, p.name), "kreverSamtykke": False} for p in persons
        ]
    }


def sale_forsendelse(sale: SaleCase, reference: str, schema: InnsendingSchema) -> bytes:
    """The forsendelse for ``sale``; document references ``<reference>-skjoete`` and ``<reference>-pant``."""
    element = "eierskifteBorettslagsandel" if isinstance(sale.unit, Borettslagsandel) else "eierskifteMatrikkelenhet"
    kode = _code("BH_HJA", "HJEMMEL TIL BORETTSLAGSANDEL") if element != "eierskifteMatrikkelenhet" else None
    deed = {
        "dokumentreferanse": f"{reference}-{DEED}",
        "rettsstiftelser": {
            element: [
                {
                    "rettsstiftelsesreferanse": f"{reference}-{DEED}-1",
                    "rettsstiftelsestype": kode or _code("HJ_HJG", "HJEMMEL TIL GRUNN"),
                    "omsetning": {
                        "utlystTilSalgPaaDetFrieMarked": True,
                        "omsetningstype": _code("1", "Fritt salg"),
                        "vederlag": _amount(sale.price),
                        "omsatteRegisterenhetsretter": {
                            "omsattRegisterenhetsrett": [
                                {
                                    "boligtype": _code("FB", "Frittliggende enebolig"),
                                    "brukstype": _code("B", "Bolig"),
                                    "registerenhetsrett": _unit_right(sale),
                                    "omsatteRegisterenhetsrettsandeler": {
                                        "kjoepte": {"registerenhetsrettsandel": [_share(s) for s in sale.buyers]},
                                        "solgte": {"registerenhetsrettsandel": [_share(s) for s in sale.sellers]},
                                    },
                                }
                            ]
                        },
                    },
                    "erklaeringerOmSivilstand": _declarations(sale.seller_persons),
                }
            ]
        },
    }
    mortgage = {
        "dokumentreferanse": f"{reference}-{MORTGAGE}",
        "rettsstiftelser": {
            "pant": [
                {
                    "rettsstiftelsesreferanse": f"{reference}-{MORTGAGE}-1",
                    "rettsstiftelsestype": _code("OB_PDO", "PANTEDOKUMENT"),
                    "rettighetshavere": {"person": [_person(sale.buyers_bank.orgnr, sale.buyers_bank.name)]},
                    "hefterI": {"delAvRegisterenhetsrett": [{"registerenhetsrett": _unit_right(sale)}]},
                    "beloep": {"beloep": [_amount(sale.new_mortgage_amount)]},
                    "pantsettere": {"person": [_person(p.fodselsnummer, p.name) for p in sale.buyer_persons]},
                    "erklaeringerOmSivilstand": _declarations(sale.buyer_persons),
                }
            ]
        },
    }
    signatures = [
        {"gjelderDokumentreferanse": deed["dokumentreferanse"], "personidentifikasjonsnummer": p.fodselsnummer}
        for p in sale.seller_persons
    ] + [
        {"gjelderDokumentreferanse": mortgage["dokumentreferanse"], "personidentifikasjonsnummer": p.fodselsnummer}
        for p in sale.buyer_persons
    ]
    data = {
        "forsendelsesreferanse": reference,
        "usignertMelding": {
            "dokumenter": {"dokument": [deed, mortgage]},
            "foelgebrev": {
                "innsender": {"identifikasjonsnummer": sale.megler.orgnr},
                "dokumentrekkefoelge": {
                    "referanse": [{"gjelderDokumentreferanse": d["dokumentreferanse"]} for d in (deed, mortgage)]
                },
            },
        },
        "ikkeDigitaleSignaturer": {"signatur": signatures},
    }
    root = schema.decoder.encode(
        data, path=f"{{{NAMESPACE}}}forsendelse", namespaces={"": NAMESPACE}, etree_element_class=etree.Element
    )
    if not isinstance(root, etree._Element):
        raise TypeError("the sale does not encode to one forsendelse")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="ISO-8859-1"))
