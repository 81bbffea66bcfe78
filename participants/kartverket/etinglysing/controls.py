"""The controls the e-tinglysing simulator runs, each with its code (``kodeverdi``), its name (``navn``) and
the outcome (``utfall``) a failure gives: IKKE_GODKJENT returns the whole submission (AVVIST, nothing
registered); UAVKLART sends it to manual handling (registered, priority kept) where a case officer ends it
as TINGLYST or NEKTET.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Utfall(enum.StrEnum):
    IKKE_GODKJENT = "IKKE_GODKJENT"
    UAVKLART = "UAVKLART"


class Saksstatus(enum.StrEnum):
    MOTTATT = "MOTTATT"
    UNDER_BEHANDLING = "UNDER_BEHANDLING"
    AVSLUTTET = "AVSLUTTET"
    UKJENT_TEKNISK_FEIL = "UKJENT_TEKNISK_FEIL"


class Behandlingsutfall(enum.StrEnum):
    UAVKLART = "UAVKLART"
    TINGLYST = "TINGLYST"
    NEKTET = "NEKTET"
    AVVIST = "AVVIST"


@dataclass(frozen=True, slots=True)
class Spec:
    navn: str
    utfall: Utfall


_NO = Utfall.IKKE_GODKJENT
_MANUAL = Utfall.UAVKLART


class Kontroll(enum.Enum):
    """Every control; the member name is the ``kodeverdi``."""

    FORSENDELSESREFERANSE_BRUKT = Spec("Forsendelsesreferansen er brukt av innsender før", _NO)
    INNSENDER_UGYLDIG = Spec("Innsender er ikke en virksomhet i Enhetsregisteret", _NO)
    FOELGEBREV_REKKEFOELGE = Spec("Følgebrevets dokumentrekkefølge stemmer ikke med dokumentene", _NO)
    DOKUMENTREFERANSE_DUPLIKAT = Spec("Dokumentreferansen er ikke unik i meldingen", _NO)
    RETTSSTIFTELSESREFERANSE_DUPLIKAT = Spec("Rettsstiftelsesreferansen er ikke unik i dokumentet", _NO)
    DOKUMENT_UTEN_RETTSSTIFTELSE = Spec("Dokumentet har ingen rettsstiftelser", _NO)
    SIGNATUR_UGYLDIG = Spec("Signaturen på dokumentet kan ikke godkjennes", _NO)
    RETTSSTIFTELSESTYPE_IKKE_TILLATT = Spec("Rettsstiftelsestypen kan ikke sendes inn elektronisk av innsender", _NO)
    RETTSSTIFTELSESTYPE_UKJENT = Spec("Rettsstiftelsestypen stemmer ikke med rettsstiftelsen", _NO)
    IDENTIFIKASJONSNUMMER_UGYLDIG = Spec("Identifikasjonsnummeret er ugyldig", _NO)
    IDENTIFIKASJONSNUMMER_UKJENT = Spec(
        "Identifikasjonsnummeret finnes ikke i Folkeregisteret eller Enhetsregisteret", _NO
    )
    NAVN_STEMMER_IKKE = Spec("Navnet stemmer ikke med Folkeregisteret eller Enhetsregisteret", _NO)
    REGISTERENHET_FINNES_IKKE = Spec("Registerenheten finnes ikke i grunnboken", _NO)
    REGISTERENHET_UTGAATT = Spec("Registerenheten er utgått", _NO)
    REGISTERENHETSRETT_FEIL_TYPE = Spec("Registerenhetsretten har feil type for registerenheten", _NO)
    SELGER_ER_IKKE_HJEMMELSHAVER = Spec("Avhender har ikke grunnbokshjemmel til den solgte andelen", _NO)
    ANDELER_STEMMER_IKKE = Spec("Kjøpte andeler er ikke lik solgte andeler", _NO)
    ANDEL_UGYLDIG = Spec("Andelen er ikke en brøk større enn 0 og høyst 1", _NO)
    SELGER_HAR_IKKE_SIGNERT = Spec("Dokumentet er ikke signert av avhender", _NO)
    PANTSETTER_ER_IKKE_HJEMMELSHAVER = Spec("Pantsetter har ikke grunnbokshjemmel til pantobjektet", _NO)
    PANTSETTER_HAR_IKKE_SIGNERT = Spec("Pantedokumentet er ikke signert av pantsetter", _NO)
    ANDEL_FINNES_IKKE = Spec("Andelen som heftes er ikke registrert på oppgitt rettighetshaver", _NO)
    HJEMMELSHAVER_HAR_IKKE_SIGNERT = Spec("Dokumentet er ikke signert av hjemmelshaver til det som heftes", _NO)
    SIVILSTANDSERKLAERING_MANGLER = Spec(
        "Erklæring om sivilstand mangler for en person som avhender eller pantsetter", _NO
    )
    EKTEFELLESAMTYKKE_MANGLER = Spec("Samtykke fra ektefelle eller registrert partner mangler", _NO)
    BELOEP_UGYLDIG = Spec("Beløpet er ugyldig", _NO)
    RETTIGHET_FINNES_IKKE = Spec("Rettsstiftelsen som endres finnes ikke som aktiv rettighet i grunnboken", _NO)
    RETTIGHET_FEIL_TYPE = Spec("Rettsstiftelsen som endres har en annen type enn oppgitt", _NO)
    RETTIGHETSHAVER_HAR_IKKE_SIGNERT = Spec(
        "Dokumentet er ikke signert av rettighetshaver til rettigheten som endres", _NO
    )
    FRA_RETTIGHETSHAVER_STEMMER_IKKE = Spec("Transporten oppgir en annen rettighetshaver enn grunnboken", _NO)
    NEDKVITTERING_OEKER_BELOEP = Spec("Nedkvitteringen oppgir et beløp som ikke er lavere enn det tinglyste", _NO)
    PRIORITET_STEMMER_IKKE = Spec("Prioritetsbestemmelsen viser til en rettighet som ikke står foran i grunnboken", _NO)
    HENVISNING_TIL_IKKE_TINGLYST = Spec(
        "Henvisning til rettsstiftelse i samme forsendelse krever manuell behandling", _MANUAL
    )
    URAADIGHET_UTEN_SAMTYKKE = Spec("Tinglyst urådighet: samtykke fra rettighetshaver må vurderes", _MANUAL)
    KONKURS_ANMERKET = Spec(
        "Avhender eller pantsetter er anmerket med konkurs: bostyrers samtykke må vurderes", _MANUAL
    )

    @property
    def kodeverdi(self) -> str:
        return self.name

    @property
    def navn(self) -> str:
        return self.value.navn

    @property
    def utfall(self) -> Utfall:
        return self.value.utfall


@dataclass(frozen=True, slots=True)
class Kontrollresultat:
    """One failed control: where (1-based document and rettsstiftelse positions; None for the whole
    message) and why (``begrunnelser``, readable, personal numbers masked)."""

    kontroll: Kontroll
    dokumentindeks: int | None = None
    rettsstiftelsesindeks: int | None = None
    begrunnelser: tuple[str, ...] = ()
    elementnavn: str | None = None

    @property
    def utfall(self) -> Utfall:
        return self.kontroll.utfall


def behandlingsutfall(results: list[Kontrollresultat]) -> Behandlingsutfall:
    """Any IKKE_GODKJENT returns the submission; otherwise any UAVKLART leaves it open for a case officer."""
    if any(r.utfall is Utfall.IKKE_GODKJENT for r in results):
        return Behandlingsutfall.AVVIST
    if results:
        return Behandlingsutfall.UAVKLART
    return Behandlingsutfall.TINGLYST
