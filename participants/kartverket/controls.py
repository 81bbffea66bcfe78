"""The named control results: every refusal the land register gives has a stable code and a Norwegian text.

Senders branch on the code; the text is for the people reading the status. Every failed control returns the
package (``AVVIST``: nothing is entered in the register), as a control result ``IKKE_GODKJENT`` does at
Kartverket; ``NEKTET`` is a refusal after registration and manual handling, which only the e-tinglysing
interface (etinglysing/) has.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Outcome(enum.StrEnum):
    TINGLYST = "TINGLYST"
    NEKTET = "NEKTET"
    AVVIST = "AVVIST"


@dataclass(frozen=True, slots=True)
class ControlSpec:
    outcome: Outcome
    text: str


class Control(enum.Enum):
    """The controls; each failure returns the package (AVVIST)."""

    FORSENDELSE_UGYLDIG = ControlSpec(Outcome.AVVIST, "Forsendelsen kan ikke leses")
    SIGNATUR_MANGLER = ControlSpec(Outcome.AVVIST, "Dokumentet er ikke signert")
    SIGNATUR_UGYLDIG = ControlSpec(Outcome.AVVIST, "En signatur på dokumentet er ugyldig")
    DOKUMENTREFERANSE_DUPLIKAT = ControlSpec(
        Outcome.AVVIST, "Dokumentreferansen er brukt av et annet dokument i forsendelsen"
    )
    IDENTIFIKATOR_UGYLDIG = ControlSpec(
        Outcome.AVVIST, "Et fødselsnummer eller organisasjonsnummer i dokumentet har feil kontrollsiffer"
    )
    INNSENDINGSREFERANSE_BRUKT = ControlSpec(
        Outcome.AVVIST, "Innsendingsreferansen er brukt av en tidligere forsendelse"
    )
    REGISTERENHET_UKJENT = ControlSpec(Outcome.AVVIST, "Registerenheten finnes ikke i grunnboken")
    SELGER_ER_IKKE_HJEMMELSHAVER = ControlSpec(
        Outcome.AVVIST, "Avhenderen har ikke grunnbokshjemmel til registerenheten"
    )
    HJEMMELSHAVER_HAR_IKKE_SIGNERT = ControlSpec(Outcome.AVVIST, "Dokumentet er ikke signert av alle hjemmelshavere")
    ANDELER_STEMMER_IKKE = ControlSpec(Outcome.AVVIST, "Overdratte andeler stemmer ikke med hjemmelshavernes andeler")
    ERVERVERANDELER_STEMMER_IKKE = ControlSpec(Outcome.AVVIST, "Erververnes andeler er ikke lik de overdratte andelene")
    PANTSETTER_HAR_IKKE_SIGNERT = ControlSpec(Outcome.AVVIST, "Pantedokumentet er ikke signert av alle pantsettere")
    PANTSETTER_ER_IKKE_HJEMMELSHAVER = ControlSpec(Outcome.AVVIST, "Pantsetterne er ikke de samme som hjemmelshaverne")
    RETTIGHET_FINNES_IKKE = ControlSpec(
        Outcome.AVVIST, "Rettigheten som skal slettes finnes ikke som aktiv heftelse på registerenheten"
    )
    RETTIGHETSHAVER_HAR_IKKE_SIGNERT = ControlSpec(Outcome.AVVIST, "Slettingen er ikke signert av rettighetshaveren")
    SAMTYKKEGIVER_ER_IKKE_RETTIGHETSHAVER = ControlSpec(
        Outcome.AVVIST, "Samtykket er ikke gitt av rettighetshaveren til en aktiv urådighet på registerenheten"
    )
    SAMTYKKE_IKKE_SIGNERT = ControlSpec(Outcome.AVVIST, "Samtykket er ikke signert av samtykkegiveren")
    DOKUMENTREFERANSE_UKJENT = ControlSpec(
        Outcome.AVVIST, "Samtykket gjelder en dokumentreferanse som ikke finnes i forsendelsen"
    )
    URAADIGHET_UTEN_SAMTYKKE = ControlSpec(
        Outcome.AVVIST, "En heftelse om urådighet hindrer disposisjonen uten samtykke fra rettighetshaveren"
    )

    @property
    def spec(self) -> ControlSpec:
        return self.value

    @property
    def code(self) -> str:
        """The stable machine-readable code: the control's name, as the schema's ``Kode`` type allows."""
        return self.name


@dataclass(frozen=True, slots=True)
class ControlResult:
    """One failed control: which, the text (with detail), and the 1-based index of the document (None when
    the control concerns the package as a whole)."""

    control: Control
    document_index: int | None = None
    detail: str = ""

    @property
    def code(self) -> str:
        return self.control.code

    @property
    def text(self) -> str:
        base = self.control.spec.text
        return f"{base}: {self.detail}" if self.detail else base


def outcome_of(results: list[ControlResult]) -> Outcome:
    """A rejection outweighs a refusal; no failed control means the package may be registered."""
    outcomes = {r.control.spec.outcome for r in results}
    if Outcome.AVVIST in outcomes:
        return Outcome.AVVIST
    if Outcome.NEKTET in outcomes:
        return Outcome.NEKTET
    return Outcome.TINGLYST
