"""The registration rules, applied to a package against a working copy of the register.

Documents are judged in package order, and each document that passes changes the working copy, so a
mortgage signed by the buyers is judged against the owners the package's own transfer has just made. A
transfer that fails still changes the copy as it intends to, so the documents after it are judged on their
own merits and report their own faults, not echoes of the transfer's.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from broker.domain.identifiers import is_valid_fodselsnummer, is_valid_orgnr
from participants.kartverket.controls import Control, ControlResult
from participants.kartverket.model import (
    Eierskifte,
    Package,
    Pant,
    Party,
    PartyKind,
    Right,
    RightKind,
    RightRef,
    Samtykke,
    Share,
    SignedDocument,
    Signers,
    Sletting,
    parties_of,
    units_of,
)


@dataclass(slots=True)
class RegisterState:
    """What the register holds for the units a package touches: the rules' working copy. Rights are keyed by
    unit and reference, as a mortgage over several units is one right registered on each of them."""

    units: set[str] = field(default_factory=set)
    owners: dict[str, list[Share]] = field(default_factory=dict)
    rights: dict[tuple[str, RightRef], Right] = field(default_factory=dict)

    def copy(self) -> RegisterState:
        return RegisterState(
            units=set(self.units),
            owners={key: list(shares) for key, shares in self.owners.items()},
            rights=dict(self.rights),
        )

    def active_rights(self, unit_key: str, kind: RightKind | None = None) -> list[Right]:
        return [
            r
            for (key, _), r in self.rights.items()
            if r.active and key == unit_key and (kind is None or r.kind is kind)
        ]


Consents = set[tuple[str, RightRef, str]]
"""Valid consents of the package: (unit key, urådighet, reference of the document it lifts it for)."""


def _valid_identifier(party: Party) -> bool:
    if party.kind is PartyKind.PERSON:
        return is_valid_fodselsnummer(party.ident)
    return is_valid_orgnr(party.ident)


def _names(parties: list[Party]) -> str:
    return ", ".join(str(p) for p in parties)


def _signature_controls(index: int, signed: SignedDocument) -> list[ControlResult]:
    if signed.signature_problem is not None:
        return [ControlResult(Control.SIGNATUR_UGYLDIG, index, signed.signature_problem)]
    if signed.signers.empty:
        return [ControlResult(Control.SIGNATUR_MANGLER, index)]
    return []


class _Judge:
    """Judges one package's documents in order against a working copy it changes as documents pass."""

    def __init__(self, package: Package, state: RegisterState) -> None:
        self.work = state.copy()
        self.references = Counter(signed.document.reference for signed in package.documents)
        self.consents: Consents = set()
        self.results: list[ControlResult] = []

    def fail(self, control: Control, index: int | None, detail: str = "") -> None:
        self.results.append(ControlResult(control, index, detail))

    def collect_consents(self, package: Package) -> None:
        """Consents apply to documents before and after them, so they are judged first, against the state
        the package starts from."""
        for index, signed in enumerate(package.documents, start=1):
            doc = signed.document
            if not isinstance(doc, Samtykke) or _signature_controls(index, signed):
                continue
            right = self.work.rights.get((doc.unit.key, doc.uraadighet))
            if right is None or not right.active or right.kind is not RightKind.URAADIGHET or right.holder != doc.giver:
                self.fail(Control.SAMTYKKEGIVER_ER_IKKE_RETTIGHETSHAVER, index, str(doc.uraadighet))
                continue
            if not signed.signers.includes(doc.giver):
                self.fail(Control.SAMTYKKE_IKKE_SIGNERT, index, str(doc.giver))
                continue
            for reference in doc.applies_to:
                if reference not in self.references:
                    self.fail(Control.DOKUMENTREFERANSE_UKJENT, index, reference)
                self.consents.add((doc.unit.key, doc.uraadighet, reference))

    def restrictions(self, index: int, reference: str, unit_key: str, signers: Signers) -> bool:
        """An urådighet blocks a transfer or a mortgage unless its holder consents, by a samtykke document
        or by signing the document itself."""
        blocked = False
        for right in self.work.active_rights(unit_key, RightKind.URAADIGHET):
            if (unit_key, right.ref, reference) in self.consents:
                continue
            if right.holder is not None and signers.includes(right.holder):
                continue
            holder = str(right.holder) if right.holder else "ukjent"
            self.fail(Control.URAADIGHET_UTEN_SAMTYKKE, index, f"{right.ref} ({holder})")
            blocked = True
        return blocked

    def eierskifte(self, index: int, doc: Eierskifte, signers: Signers) -> None:
        current = self.work.owners.get(doc.unit.key, [])
        owned = {share.holder: share.fraction for share in current}
        strangers = [s.holder for s in doc.sellers if s.holder not in owned]
        if strangers:
            self.fail(Control.SELGER_ER_IKKE_HJEMMELSHAVER, index, _names(strangers))
        unsigned = [share.holder for share in current if not signers.includes(share.holder)]
        if unsigned:
            self.fail(Control.HJEMMELSHAVER_HAR_IKKE_SIGNERT, index, _names(unsigned))
        sold = {s.holder: s.fraction for s in doc.sellers}
        if not strangers and sold != owned:
            self.fail(Control.ANDELER_STEMMER_IKKE, index)
        if not doc.buyers or sum(b.fraction for b in doc.buyers) != sum(sold.values()):
            self.fail(Control.ERVERVERANDELER_STEMMER_IKKE, index)
        self.restrictions(index, doc.reference, doc.unit.key, signers)
        self.work.owners[doc.unit.key] = list(doc.buyers)

    def pant(self, index: int, doc: Pant, signers: Signers) -> None:
        unsigned = [p for p in doc.mortgagors if not signers.includes(p)]
        if unsigned:
            self.fail(Control.PANTSETTER_HAR_IKKE_SIGNERT, index, _names(unsigned))
        for unit in doc.units:
            owners = {share.holder for share in self.work.owners.get(unit.key, [])}
            if set(doc.mortgagors) != owners:
                self.fail(Control.PANTSETTER_ER_IKKE_HJEMMELSHAVER, index, str(unit))
            self.restrictions(index, doc.reference, unit.key, signers)

    def sletting(self, index: int, doc: Sletting, signers: Signers) -> None:
        key = (doc.unit.key, doc.right)
        right = self.work.rights.get(key)
        if right is None or not right.active:
            self.fail(Control.RETTIGHET_FINNES_IKKE, index, str(doc.right))
            return
        if right.holder is not None:
            required = [right.holder]
        else:
            required = [share.holder for share in self.work.owners.get(doc.unit.key, [])]
        missing = [p for p in required if not signers.includes(p)]
        if missing or (right.holder is not None and doc.holder != right.holder):
            self.fail(Control.RETTIGHETSHAVER_HAR_IKKE_SIGNERT, index, _names(missing or required))
            return
        del self.work.rights[key]

    def judge(self, index: int, signed: SignedDocument) -> None:
        doc = signed.document
        if self.references[doc.reference] > 1:
            self.fail(Control.DOKUMENTREFERANSE_DUPLIKAT, index, doc.reference)
        invalid = [p for p in parties_of(doc) if not _valid_identifier(p)]
        if invalid:
            self.fail(Control.IDENTIFIKATOR_UGYLDIG, index, _names(invalid))
            return
        signature_results = _signature_controls(index, signed)
        if signature_results:
            self.results.extend(signature_results)
            return
        unknown = [unit for unit in units_of(doc) if unit.key not in self.work.units]
        if unknown:
            self.fail(Control.REGISTERENHET_UKJENT, index, ", ".join(str(u) for u in unknown))
            return
        if isinstance(doc, Eierskifte):
            self.eierskifte(index, doc, signed.signers)
        elif isinstance(doc, Pant):
            self.pant(index, doc, signed.signers)
        elif isinstance(doc, Sletting):
            self.sletting(index, doc, signed.signers)


def assess(package: Package, state: RegisterState) -> list[ControlResult]:
    """Every failed control of ``package`` against ``state`` (which is left unchanged); empty means it passes."""
    judge = _Judge(package, state)
    judge.collect_consents(package)
    for index, signed in enumerate(package.documents, start=1):
        judge.judge(index, signed)
    return judge.results
