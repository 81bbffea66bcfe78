"""Official DSVE documents built from a sale's facts (``SaleCase``), as data for ``dsve.xsd``.

Each builder returns ``(root element, data)``; :class:`~participants.official.schema.OfficialSchema` encodes
it and refuses anything the schema does not allow. The correlation rule is kept everywhere: an answer's
``mottaker.referanse`` is the request's ``avsender.referanse``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from broker.xml.keys import SigningCredential
from participants.cases import SaleCase
from participants.messages.inner import sign_in_place
from participants.messages.model import Borettslagsandel, Matrikkelenhet, Organisation, Person, Registerenhet

Data = dict[str, Any]
ELECTRONIC = "Elektronisk tinglysing"
_MUNICIPALITIES = {"0301": "Oslo", "4601": "Bergen", "5001": "Trondheim", "1103": "Stavanger", "3205": "Lillestrøm"}


def organisation(org: Organisation, reference: str | None = None) -> Data:
    data: Data = {"@id": org.orgnr, "foretaksnavn": org.name}
    if reference is not None:
        data["referanse"] = reference
    return data


def person(who: Person) -> Data:
    first, _, last = who.name.rpartition(" ")
    return {"@id": who.fodselsnummer, "fornavn": first or who.name, "etternavn": last or who.name}


def unit(registerenhet: Registerenhet, address: str | None = None) -> Data:
    """A ``Registerenhet``: a matrikkel unit (eiendomsrett) or a housing-cooperative share."""
    data: Data
    if isinstance(registerenhet, Matrikkelenhet):
        data = {
            "matrikkel": {
                "@kommunenavn": _MUNICIPALITIES.get(registerenhet.kommunenummer, registerenhet.kommunenummer),
                "@kommunenummer": registerenhet.kommunenummer,
                "@gaardsnummer": str(registerenhet.gaardsnummer),
                "@bruksnummer": str(registerenhet.bruksnummer),
                "@festenummer": str(registerenhet.festenummer),
                "@seksjonsnummer": str(registerenhet.seksjonsnummer),
                "@eiendomsnivaa": "E",
            }
        }
    elif isinstance(registerenhet, Borettslagsandel):
        data = {
            "borettsandel": {
                "@organisasjonsnummer": registerenhet.orgnr,
                "@borettslagnavn": f"Borettslag {registerenhet.orgnr}",
                "@andelsnummer": str(registerenhet.andelsnummer),
            }
        }
    else:
        raise TypeError(f"no official form for {registerenhet!r}")
    if address:
        street, _, place = address.partition(",")
        postcode, _, town = place.strip().partition(" ")
        if postcode.isdigit():
            data["adresse"] = {"gatenavn": street.strip(), "postnummer": postcode, "poststed": town or postcode}
    return data


def _buyers(case: SaleCase) -> Data:
    return {"rettssubjekt": [{"person": person(p)} for p in case.buyer_persons]}


def _sellers(case: SaleCase) -> Data:
    return {"rettssubjekt": [{"person": person(p)} for p in case.seller_persons]}


def intention_from_bank(
    case: SaleCase, bank_reference: str, now: datetime, method: str = ELECTRONIC
) -> tuple[str, Data]:
    """``IntensjonFraBank``: the buyers' bank asks the megler about the registration method."""
    return "intensjonfrabank", {
        "avsender": organisation(case.buyers_bank, bank_reference),
        "mottaker": organisation(case.megler),
        "kjoepere": _buyers(case),
        "registerenheter": {"registerenhet": [unit(case.unit, case.address)]},
        "intensjonsdetaljer": {"metode": method},
        "metadata": {"opprettet": now.isoformat(timespec="seconds")},
    }


def intention_reply(
    request: Data, case: SaleCase, now: datetime, method: str = ELECTRONIC, paper_deed_signed: bool = False
) -> tuple[str, Data]:
    """``IntensjonssvarFraMegler``: the megler's answer, the bank's reference copied into ``mottaker``."""
    bank = request["avsender"]
    return "intensjonssvarframegler", {
        "avsender": organisation(case.megler, case.reference),
        "megler": organisation(case.megler, case.reference),
        "mottaker": {"@id": bank["@id"], "foretaksnavn": bank["foretaksnavn"], "referanse": bank["referanse"]},
        "parter": {"selgere": _sellers(case), "kjoepere": _buyers(case)},
        "registerenheter": {"registerenhet": [unit(case.unit, case.address)]},
        "intensjonsdetaljer": {"metode": method, "harsignerthjemmelsovergangpaapapir": paper_deed_signed},
        "metadata": {"opprettet": now.isoformat(timespec="seconds")},
    }


def debt_request(case: SaleCase, now: datetime) -> tuple[str, Data]:
    """``Restgjeldsforespoersel``: the megler asks the sellers' bank which loans to pay off."""
    del now  # the request carries no time of its own
    return "restgjeldsforespoersel", {
        "avsender": organisation(case.megler, case.reference),
        "mottaker": organisation(case.sellers_bank),
        "registerenheterMedHjemmelshavere": {
            "registerenhetMedHjemmelshavere": [
                {
                    **unit(case.unit),
                    "hjemmelshavere": {"hjemmelshaver": [{"person": person(p)} for p in case.seller_persons]},
                }
            ]
        },
        "prisantydning": case.price,
    }


def _mortgage_to_delete(case: SaleCase, balance: int) -> list[Data]:
    """The sellers' mortgage the bank deletes once its loan is paid, as both answers name it (none if unknown)."""
    mortgage = case.existing_mortgage
    if mortgage is None:
        return []
    return [
        {
            "@dokumentnummer": mortgage.document_number,
            "@dokumentaar": mortgage.year,
            "@embetenummer": mortgage.office,
            "@rettsstiftelsesnummer": mortgage.right_number,
            "@beloep": case.existing_mortgage_amount or balance,
        }
    ]


def debt_answer(request: Data, case: SaleCase, bank_reference: str, account: str, balance: int) -> tuple[str, Data]:
    """``Restgjeldssvar``: the sellers' loan to pay off and the mortgage the bank deletes when it is paid."""
    megler = request["avsender"]
    references = _mortgage_to_delete(case, balance)
    return "restgjeldssvar", {
        "avsender": organisation(case.sellers_bank, bank_reference),
        "mottaker": {"@id": megler["@id"], "foretaksnavn": megler["foretaksnavn"], "referanse": megler["referanse"]},
        "laanliste": {
            "laan": [
                {
                    "rammelaan": False,
                    "fastrente": False,
                    "realkausjon": False,
                    "laantakerIkkeHjemmelshaver": False,
                    "transporterklaering": False,
                    "laanenummer": account,
                    "kontonummer": account,
                    "saldo": balance,
                    "laantakereHjemmelshaver": {"navn": [p.name for p in case.seller_persons]},
                }
            ]
        },
        "registerenheterMedDokumentreferanser": {
            "registerenhetMedDokumentreferanse": [
                {**unit(case.unit), "pantedokumentreferanser": {"pantedokumentreferanse": references}}
            ]
        },
        "sperretForVidereOpplaan": True,
    }


def payoff_request(case: SaleCase, bank_reference: str | None, dates: list[date]) -> tuple[str, Data]:
    """``Innfrielsessaldoforespoersel``: close to settlement the megler asks the sellers' bank what it takes to
    pay the loans off on the given dates (one to four); ``bank_reference`` is the bank's from its debt answer."""
    return "innfrielsessaldoforespoersel", {
        "avsender": organisation(case.megler, case.reference),
        "mottaker": organisation(case.sellers_bank, bank_reference),
        "registerenheterMedHjemmelshavere": {
            "registerenhetMedHjemmelshavere": [
                {
                    **unit(case.unit),
                    "hjemmelshavere": {"hjemmelshaver": [{"person": person(p)} for p in case.seller_persons]},
                }
            ]
        },
        "innfrielsesdatoer": {"innfrielsesdato": [d.isoformat() for d in dates]},
    }


def payoff_answer(
    request: Data, case: SaleCase, bank_reference: str, account: str, kid: str, balances: list[tuple[date, int]]
) -> tuple[str, Data]:
    """``Innfrielsessaldosvar``: the amount per date, where to pay it (account and KID), and the mortgage the
    bank deletes once it is paid."""
    megler = request["avsender"]
    references = _mortgage_to_delete(case, balances[-1][1])
    return "innfrielsessaldosvar", {
        "avsender": organisation(case.sellers_bank, bank_reference),
        "mottaker": {"@id": megler["@id"], "foretaksnavn": megler["foretaksnavn"], "referanse": megler["referanse"]},
        "laanliste": {
            "laan": [
                {
                    "laantakerIkkeHjemmelshaver": False,
                    "transporterklaering": False,
                    "laanenummer": account,
                    "kontonummer": account,
                    "kidnummer": kid,
                    "betalingsmelding": f"Innfrielse {case.reference}",
                    "saldoerPerDato": {
                        "saldoPerDato": [{"beloep": float(amount), "dato": day.isoformat()} for day, amount in balances]
                    },
                    "laantakereHjemmelshaver": {"navn": [p.name for p in case.seller_persons]},
                }
            ]
        },
        "registerenheterMedDokumentreferanser": {
            "registerenhetMedDokumentreferanse": [
                {**unit(case.unit), "pantedokumentreferanser": {"pantedokumentreferanse": references}}
            ]
        },
    }


def registration_done(
    case: SaleCase,
    bank_reference: str,
    document_reference: str,
    altinn_reference: str,
    now: datetime,
    status_file: str | None = None,
) -> tuple[str, Data]:
    """``GjennomfoertEtinglysing``: the buyers' mortgage deed is registered; ``status_file`` names Kartverket's
    forsendelsesstatus that goes with it in the ZIP."""
    metadata: Data = {"opprettet": now.isoformat(timespec="seconds")}
    if status_file is not None:
        metadata = {"ressurser": {"vedlegg": [{"navn": status_file, "mimetype": "application/xml"}]}, **metadata}
    return "gjennomfoertetinglysing", {
        "avsender": organisation(case.megler, case.reference),
        "mottaker": organisation(case.buyers_bank, bank_reference),
        "gjennomfoertetinglysingdetaljer": {
            "dokumentreferanse": document_reference,
            "altinnsendersreference": altinn_reference,
        },
        "metadata": metadata,
    }


def priority_reached(
    case: SaleCase, bank_reference: str, document_reference: str, altinn_reference: str, now: datetime
) -> tuple[str, Data]:
    """``OppnaaddPrioritetOk``: the agreed priority is reached (after ``GjennomfoertEtinglysing``)."""
    return "oppnaaddprioritetok", {
        "megler": organisation(case.megler, case.reference),
        "bank": organisation(case.buyers_bank, bank_reference),
        "oppnaaddprioritetdetaljer": {
            "dokumentreferanse": document_reference,
            "altinnsendersreference": altinn_reference,
        },
        "metadata": {"opprettet": now.isoformat(timespec="seconds")},
    }


def deed_stand_in(case: SaleCase, document_reference: str, signers: Sequence[SigningCredential] = ()) -> bytes:
    """The simulators' stand-in for a signed mortgage deed: Kartverket's ``dokument`` with its ``pant`` (units,
    mortgagors, mortgagee, amount), the ``pant`` signed in XML by ``signers`` (the mortgagors' personal test
    certificates; the broker verifies them). A real one is a BankID SDO or PAdES, which needs BankID."""
    from lxml import etree
    from lxml.builder import ElementMaker

    inn = ElementMaker(namespace="http://kartverket.no/grunnbok/wsapi/v2/domain/innsending")
    units = []
    if isinstance(case.unit, Matrikkelenhet):
        units.append(
            inn.matrikkelenhet(
                inn.kommunenummer(case.unit.kommunenummer),
                inn.gaardsnummer(str(case.unit.gaardsnummer)),
                inn.bruksnummer(str(case.unit.bruksnummer)),
                inn.festenummer(str(case.unit.festenummer)),
                inn.seksjonsnummer(str(case.unit.seksjonsnummer)),
            )
        )
    elif isinstance(case.unit, Borettslagsandel):
        units.append(
            inn.borettslagsandel(inn.borettslagnummer(case.unit.orgnr), inn.andelsnummer(str(case.unit.andelsnummer)))
        )
    document = inn.dokument(
        inn.dokumentreferanse(document_reference),
        inn.rettsstiftelser(
            pant := inn.pant(
                inn.rettighetshavere(
                    inn.person(inn.navn(case.buyers_bank.name), inn.identifikasjonsnummer(case.buyers_bank.orgnr))
                ),
                inn.hefterI(inn.registerenhet(*units)),
                inn.pantsettere(
                    *[
                        inn.person(inn.navn(p.name), inn.identifikasjonsnummer(p.fodselsnummer))
                        for p in case.buyer_persons
                    ]
                ),
                inn.beloep(str(case.new_mortgage_amount)),
                Id="pant-1",
            ),
            inn.signaturer(),
        ),
    )
    sign_in_place(pant, list(signers))
    # Not pretty-printed: indentation added after signing would change what the signatures cover.
    return bytes(etree.tostring(document, xml_declaration=True, encoding="UTF-8"))
