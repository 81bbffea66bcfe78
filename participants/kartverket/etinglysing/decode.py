"""From a valid ``forsendelse`` tree to the simulator's model (see model.py).

xmlschema groups a choice's repeated elements by name, so the order of a document's rettsstiftelser is
taken from the tree and the decoded items consumed in that order: the rettsstiftelse numbers depend on it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from lxml import etree

from participants.kartverket.etinglysing.model import (
    Andel,
    Anmerkning,
    AnyRettsstiftelse,
    DelAvEnhet,
    Dokument,
    Forsendelse,
    Heftelse,
    Matrikkelendring,
    OmsattRett,
    Overdragelse,
    RettHenvisning,
    Rettsendring,
    Sivilstand,
    party,
)
from participants.kartverket.etinglysing.schema import NAMESPACE, InnsendingSchema, decode_data
from participants.kartverket.model import (
    Borettslagsandel,
    DocumentNumber,
    Matrikkelenhet,
    Party,
    Registerenhet,
    RightRef,
)

Data = dict[str, Any]

OVERDRAGELSER = frozenset({"eierskifteMatrikkelenhet", "overdragelseAvFesterett", "eierskifteBorettslagsandel"})
HEFTELSER = frozenset({"pant", "annenHeftelse", "tvangsforretning"})
RETTSENDRINGER = frozenset(
    {
        "sletting",
        "nedkvittering",
        "transport",
        "tinglysingPaaNy",
        "prioritetsbestemmelseForDokumentnummer",
        "prioritetsbestemmelseForIkkeTinglystDokument",
    }
)
MATRIKKELENDRINGER = frozenset(
    {"fradeling", "sammenslaaingAvMatrikkelenheter", "festenummerGittBruksnummer", "omnummereringAvMatrikkelenheter"}
)


def _list(data: Data | None, *path: str) -> list[Any]:
    node: Any = data
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return []
        node = node[key]
    return node if isinstance(node, list) else [node]


def _person(data: Data) -> Party:
    return party(str(data.get("identifikasjonsnummer", "")), str(data.get("navn") or ""))


def _persons(data: Data | None, key: str) -> tuple[Party, ...]:
    return tuple(_person(p) for p in _list(data, key, "person"))


def unit_of(data: Data) -> Registerenhet:
    if "borettslagsandel" in data:
        share = data["borettslagsandel"]
        return Borettslagsandel(str(share["borettslagnummer"]), int(share["andelsnummer"]))
    m = data.get("matrikkelenhet", data)
    return Matrikkelenhet(
        str(m["kommunenummer"]),
        int(m["gaardsnummer"]),
        int(m["bruksnummer"]),
        int(m["festenummer"]),
        int(m["seksjonsnummer"]),
    )


def _andeler(data: Data | None, key: str) -> tuple[Andel, ...]:
    shares = []
    for item in _list(data, key, "registerenhetsrettsandel"):
        holder = _person(item["rettighetshaver"]) if item.get("rettighetshaver") else None
        shares.append(Andel(int(item["teller"]), int(item["nevner"]), holder))
    return tuple(shares)


def _del_av(data: Data) -> DelAvEnhet:
    rett = data["registerenhetsrett"]
    return DelAvEnhet(
        unit_of(rett["registerenhet"]),
        str(rett["registerenhetsrettstype"]["kodeverdi"]),
        _andeler(data, "begrensetTil"),
    )


def _sivilstand(data: Data) -> tuple[Sivilstand, ...]:
    declarations = []
    for item in _list(data, "erklaeringerOmSivilstand", "erklaeringOmSivilstand"):
        spouse = _person(item["ektefellePartner"]) if item.get("ektefellePartner") else None
        declarations.append(Sivilstand(_person(item["erklaeringFor"]), bool(item["kreverSamtykke"]), spouse))
    return tuple(declarations)


def _amounts(data: Data | None, key: str) -> tuple[int, ...]:
    return tuple(int(b["beloepsverdi"]) for b in _list(data, key, "beloep"))


def _henvisninger(items: list[Any]) -> tuple[tuple[RettHenvisning, ...], int]:
    """Registered rights named by number, and how many name a right of this submission instead."""
    refs, inline = [], 0
    for item in items:
        ref = item.get("rettsstiftelseReferanse") if isinstance(item, dict) else None
        if ref is None:
            inline += 1
            continue
        number = DocumentNumber(int(ref["dokumentaar"]), int(ref["dokumentnummer"]), int(ref["embetenummer"]))
        refs.append(
            RettHenvisning(
                RightRef(number, int(ref["rettsstiftelsesnummer"])), str(ref["rettsstiftelsestype"]["kodeverdi"])
            )
        )
    return tuple(refs), inline


def _rettsstiftelse(element: str, data: Data) -> AnyRettsstiftelse:
    kode = data["rettsstiftelsestype"]
    base = (element, str(data["rettsstiftelsesreferanse"]), str(kode["kodeverdi"]), str(kode.get("navn") or ""))
    if element in OVERDRAGELSER:
        omsetning = data["omsetning"]
        omsatt = tuple(
            OmsattRett(
                _del_av(item),
                _andeler(item.get("omsatteRegisterenhetsrettsandeler"), "solgte"),
                _andeler(item.get("omsatteRegisterenhetsrettsandeler"), "kjoepte"),
            )
            for item in _list(omsetning, "omsatteRegisterenhetsretter", "omsattRegisterenhetsrett")
        )
        vederlag = omsetning.get("vederlag")
        return Overdragelse(*base, omsatt, int(vederlag["beloepsverdi"]) if vederlag else None, _sivilstand(data))
    if element in HEFTELSER:
        held = data.get("avholdtTvangsforretning") or {}
        return Heftelse(
            *base,
            rettighetshavere=_persons(data, "rettighetshavere"),
            hefter_i=tuple(_del_av(item) for item in _list(data, "hefterI", "delAvRegisterenhetsrett")),
            beloep=_amounts(data, "beloep"),
            pantsettere=_persons(data, "pantsettere"),
            sivilstand=_sivilstand(data),
            saksoekere=_persons(held, "saksoekere"),
            saksoekte=_persons(held, "saksoekte"),
            realkoblet_til=tuple(
                unit_of(r["registerenhet"]) for r in _list(data, "realkobletTil", "registerenhetsrett")
            ),
        )
    if element in RETTSENDRINGER:
        endrer, inline = _henvisninger([d.get("rettsstiftelse") for d in _list(data, "endrer", "delAvRett")])
        veket_for, _ = _henvisninger(_list(data, "veketFor", "rettsstiftelseHenvisning"))
        return Rettsendring(
            *base,
            endrer=endrer,
            inline=inline,
            nedkvittert_til=_amounts(data, "beloepNedkvittertTil"),
            fra=_persons(data, "fraRettighetshaver"),
            til=_persons(data, "tilRettighetshaver"),
            veket_for=veket_for,
        )
    if element == "anmerkningPaaPerson":
        bostyrer = _person(data["bostyrer"]) if data.get("bostyrer") else None
        return Anmerkning(*base, _person(data["anmerketPerson"]), _persons(data, "forvaltere"), bostyrer)
    return Matrikkelendring(
        *base,
        _persons(data, "rekvirenterAvForretning"),
        tuple(unit_of(m) for m in _list(data, "fra", "matrikkelenhet")),
        tuple(unit_of(m) for m in _list(data, "til", "matrikkelenhet")),
    )


def _dokument(element: etree._Element, data: Data, index: int) -> Dokument:
    container = element.find(f"{{{NAMESPACE}}}rettsstiftelser")
    names = [etree.QName(child).localname for child in container] if container is not None else []
    pending: dict[str, list[Data]] = defaultdict(list)
    for name, items in (data.get("rettsstiftelser") or {}).items():
        pending[name].extend(items if isinstance(items, list) else [items])
    ordered = [_rettsstiftelse(name, pending[name].pop(0)) for name in names if pending[name]]
    return Dokument(str(data["dokumentreferanse"]), index, tuple(ordered))


def decode_melding(
    melding: etree._Element, data: Data, reference: str, signatures: dict[str, frozenset[str]], signed: bool
) -> Forsendelse:
    """A forsendelse from an ``usignertMelding`` element and its decoded data."""
    elements = melding.findall(f"{{{NAMESPACE}}}dokumenter/{{{NAMESPACE}}}dokument")
    items = _list(data, "dokumenter", "dokument")
    dokumenter = tuple(_dokument(el, item, i) for i, (el, item) in enumerate(zip(elements, items, strict=True)))
    foelgebrev = data.get("foelgebrev") or {}
    innsender = str((foelgebrev.get("innsender") or {}).get("identifikasjonsnummer", ""))
    order = tuple(str(r["gjelderDokumentreferanse"]) for r in _list(foelgebrev, "dokumentrekkefoelge", "referanse"))
    return Forsendelse(reference, innsender, dokumenter, order, signatures, signed)


def ikke_digitale_signaturer(data: Data) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for item in _list(data, "ikkeDigitaleSignaturer", "signatur"):
        found[str(item["gjelderDokumentreferanse"])].add(str(item["personidentifikasjonsnummer"]))
    return {ref: frozenset(ids) for ref, ids in found.items()}


def decode_forsendelse(root: etree._Element, schema: InnsendingSchema) -> Forsendelse:
    """A valid, unsigned ``forsendelse``; one with a ``signertMelding`` goes through sdo.py first."""
    data = decode_data(schema, root)
    melding = root.find(f"{{{NAMESPACE}}}usignertMelding")
    reference = str(data["forsendelsesreferanse"])
    if melding is None:
        return Forsendelse(reference, "", (), (), {}, signed="signertMelding" in data)
    return decode_melding(melding, data["usignertMelding"], reference, ikke_digitale_signaturer(data), False)
