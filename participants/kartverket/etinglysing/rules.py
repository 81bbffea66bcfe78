"""The rules as Kartverket applies them to a submission, each reporting its own control (controls.py).

Who must sign follows the rettsstiftelse: sellers sign an eierskifte (a co-owner may sell its own share),
pledgers a pant (in the whole or in their share), owners of what is burdened an annen heftelse, the
holder of a registered right its sletting, nedkvittering, transport or priority change. The innsender's
identifier counts as a signature on every document, as the signed følgebrev does.
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

from participants.kartverket.etinglysing.controls import Kontroll, Kontrollresultat
from participants.kartverket.etinglysing.grunnbok import MAX_BELOEP, Grunnbok, code_matches
from participants.kartverket.etinglysing.model import (
    Andel,
    Anmerkning,
    AnyRettsstiftelse,
    DelAvEnhet,
    Dokument,
    Forsendelse,
    Heftelse,
    Matrikkelendring,
    Overdragelse,
    Rettsendring,
    Sivilstand,
    party,
)
from participants.kartverket.etinglysing.population import Registers
from participants.kartverket.model import Borettslagsandel, Matrikkelenhet, Party, PartyKind, Right, RightKind, Share

ALLOWED_CODES: dict[str, frozenset[str]] = {
    "eierskifteMatrikkelenhet": frozenset({"HJ_HJG"}),
    "overdragelseAvFesterett": frozenset({"TF_OMB", "TF_OUB"}),
    "eierskifteBorettslagsandel": frozenset({"BH_HJA"}),
    "pant": frozenset({"OB_PDO", "OB_PDB"}),
    "annenHeftelse": frozenset({"AH_URK", "AH_GAR", "AH_PBF", "AH_PBG", "AH_PBH"}),
    "tvangsforretning": frozenset({"TV_UTL", "TV_ARR"}),
    "sletting": frozenset({"SL_SLE"}),
    "nedkvittering": frozenset({"NE_NEK"}),
    "transport": frozenset({"TR_TRA", "TR_TRP", "TR_TAS", "TR_MAS", "TR_FUS"}),
    "tinglysingPaaNy": frozenset({"TN_TPN"}),
    "prioritetsbestemmelseForDokumentnummer": frozenset({"PR_PRB", "PR_PRV"}),
    "prioritetsbestemmelseForIkkeTinglystDokument": frozenset({"PB_PRB"}),
    "anmerkningPaaPerson": frozenset({"ET_KKM"}),
}


def _names(parties: list[Party]) -> str:
    return ", ".join(str(p) for p in parties)


def _parties(rs: AnyRettsstiftelse) -> list[tuple[Party, str]]:
    """Every party a rettsstiftelse names, with the element it is named in."""
    found: list[tuple[Party, str]] = []

    def add(parties: tuple[Party, ...] | list[Party], element: str) -> None:
        found.extend((p, element) for p in parties)

    def shares(items: tuple[Andel, ...], element: str) -> None:
        add([a.holder for a in items if a.holder is not None], element)

    def sivilstand(items: tuple[Sivilstand, ...]) -> None:
        add([s.person for s in items], "erklaeringFor")
        add([s.ektefelle for s in items if s.ektefelle is not None], "ektefellePartner")

    if isinstance(rs, Overdragelse):
        for omsatt in rs.omsatt:
            shares(omsatt.solgte, "solgte")
            shares(omsatt.kjoepte, "kjoepte")
        sivilstand(rs.sivilstand)
    elif isinstance(rs, Heftelse):
        add(rs.rettighetshavere, "rettighetshavere")
        add(rs.pantsettere, "pantsettere")
        add(rs.saksoekere, "saksoekere")
        add(rs.saksoekte, "saksoekte")
        for part in rs.hefter_i:
            shares(part.shares, "begrensetTil")
        sivilstand(rs.sivilstand)
    elif isinstance(rs, Rettsendring):
        add(rs.fra, "fraRettighetshaver")
        add(rs.til, "tilRettighetshaver")
    elif isinstance(rs, Anmerkning):
        add([rs.person, *rs.forvaltere], "anmerketPerson")
        add([rs.bostyrer] if rs.bostyrer else [], "bostyrer")
    else:
        add(rs.rekvirenter, "rekvirenterAvForretning")
    return found


def _is_share(andel: Andel) -> bool:
    """A fraction the register can hold: more than nothing, at most the whole."""
    return 0 < andel.teller <= andel.nevner


class Judge:
    """Judges one submission against a working copy it changes as rettsstiftelser pass."""

    def __init__(self, forsendelse: Forsendelse, state: Grunnbok, registers: Registers) -> None:
        self.forsendelse = forsendelse
        self.work = state
        self.registers = registers
        self.results: list[Kontrollresultat] = []
        self.doc: Dokument | None = None
        self.rindex: int | None = None
        self.signers: frozenset[str] = frozenset()

    def fail(self, kontroll: Kontroll, *reasons: str, element: str | None = None) -> None:
        dindex = self.doc.index + 1 if self.doc is not None else None
        self.results.append(Kontrollresultat(kontroll, dindex, self.rindex, tuple(reasons), element))

    def signed(self, who: Party) -> bool:
        return who.ident in self.signers

    # the message as a whole

    def message(self) -> None:
        f = self.forsendelse
        if self.work.reference_used:
            self.fail(Kontroll.FORSENDELSESREFERANSE_BRUKT, f"forsendelsesreferanse {f.forsendelsesreferanse}")
        sender = party(f.innsender)
        if sender.kind is not PartyKind.ORGANISASJON or not self.registers.is_enterprise(f.innsender):
            self.fail(Kontroll.INNSENDER_UGYLDIG, f"innsender {sender}", element="innsender")
        references = Counter(d.reference for d in f.dokumenter)
        for reference, count in references.items():
            if count > 1:
                self.fail(Kontroll.DOKUMENTREFERANSE_DUPLIKAT, f"dokumentreferanse {reference}")
        if sorted(f.rekkefoelge) != sorted(references.elements()):
            self.fail(
                Kontroll.FOELGEBREV_REKKEFOELGE,
                f"følgebrevet: {', '.join(f.rekkefoelge) or 'ingen'}; dokumentene: {', '.join(references) or 'ingen'}",
                element="dokumentrekkefoelge",
            )

    # one document

    def document(self, doc: Dokument) -> None:
        self.doc, self.rindex = doc, None
        self.signers = self.forsendelse.signers(doc.reference)
        if not doc.rettsstiftelser:
            self.fail(Kontroll.DOKUMENT_UTEN_RETTSSTIFTELSE)
        for reference, count in Counter(rs.reference for rs in doc.rettsstiftelser).items():
            if count > 1:
                self.fail(Kontroll.RETTSSTIFTELSESREFERANSE_DUPLIKAT, f"rettsstiftelsesreferanse {reference}")
        for rindex, rs in enumerate(doc.rettsstiftelser, start=1):
            self.rindex = rindex
            self.rettsstiftelse(rs)

    def rettsstiftelse(self, rs: AnyRettsstiftelse) -> None:
        if isinstance(rs, Matrikkelendring):
            self.fail(
                Kontroll.RETTSSTIFTELSESTYPE_IKKE_TILLATT, f"{rs.element} ({rs.kode}) sendes bare fra matrikkelen"
            )
            return
        if rs.kode not in ALLOWED_CODES.get(rs.element, frozenset()):
            self.fail(Kontroll.RETTSSTIFTELSESTYPE_UKJENT, f"{rs.kode} for {rs.element}", element="rettsstiftelsestype")
            return
        self.identities(rs)
        if isinstance(rs, Overdragelse):
            self.overdragelse(rs)
        elif isinstance(rs, Heftelse):
            self.heftelse(rs)
        elif isinstance(rs, Rettsendring):
            self.rettsendring(rs)

    def identities(self, rs: AnyRettsstiftelse) -> None:
        for who, element in _parties(rs):
            name = self.registers.name_of(who)
            if name is None and not self.registers.well_formed(who):
                self.fail(Kontroll.IDENTIFIKASJONSNUMMER_UGYLDIG, str(who), element=element)
            elif name is None:
                self.fail(Kontroll.IDENTIFIKASJONSNUMMER_UKJENT, str(who), element=element)
            elif who.name and who.name.casefold() != name.casefold():
                self.fail(Kontroll.NAVN_STEMMER_IKKE, f"{who.name} er ikke navnet på {who.masked}", element=element)

    def unit_known(self, part: DelAvEnhet) -> bool:
        key = part.unit.key
        if key not in self.work.units:
            self.fail(Kontroll.REGISTERENHET_FINNES_IKKE, str(part.unit), element="registerenhet")
            return False
        if key in self.work.expired:
            self.fail(Kontroll.REGISTERENHET_UTGAATT, str(part.unit), element="registerenhet")
            return False
        return True

    def amounts(self, amounts: tuple[int, ...], *, required: bool) -> None:
        if (required and not amounts) or any(not 0 < a <= MAX_BELOEP for a in amounts):
            self.fail(Kontroll.BELOEP_UGYLDIG, ", ".join(str(a) for a in amounts) or "ingen beløp", element="beloep")

    def sivilstand(self, persons: list[Party], declarations: tuple[Sivilstand, ...]) -> None:
        declared = {d.person: d for d in declarations}
        for person in persons:
            if person.kind is not PartyKind.PERSON:
                continue
            declaration = declared.get(person)
            if declaration is None:
                self.fail(Kontroll.SIVILSTANDSERKLAERING_MANGLER, str(person), element="erklaeringerOmSivilstand")
            elif declaration.krever_samtykke and (
                declaration.ektefelle is None or not self.signed(declaration.ektefelle)
            ):
                spouse = str(declaration.ektefelle) if declaration.ektefelle else "ikke oppgitt"
                self.fail(
                    Kontroll.EKTEFELLESAMTYKKE_MANGLER, f"{person}: ektefelle {spouse}", element="ektefellePartner"
                )

    def restrictions(self, unit_key: str, disposers: list[Party]) -> None:
        """A registered urådighet, or a bankruptcy note on one who disposes, sends the case to a case officer
        unless the urådighet's holder has signed the document (its consent)."""
        for right in self.work.on_unit(unit_key, RightKind.URAADIGHET):
            shares = self.work.limited_to.get((right.ref, unit_key))
            if shares and not any(d.ident in shares for d in disposers):
                continue  # it lies in another owner's share
            if right.holder is None or not self.signed(right.holder):
                self.fail(Kontroll.URAADIGHET_UTEN_SAMTYKKE, f"{right.ref} ({right.holder or 'ukjent'})")
        for right in self.work.on_unit(unit_key, RightKind.ANMERKNING):
            if right.holder in disposers:
                self.fail(Kontroll.KONKURS_ANMERKET, f"{right.ref} ({right.holder})")

    def _type_fits(self, rs: Overdragelse, part: DelAvEnhet) -> bool:
        unit = part.unit
        if rs.element == "eierskifteBorettslagsandel":
            return isinstance(unit, Borettslagsandel)
        if rs.element == "overdragelseAvFesterett":
            return isinstance(unit, Matrikkelenhet) and unit.festenummer > 0 and part.rettstype == "F"
        return isinstance(unit, Matrikkelenhet) and part.rettstype == "E"

    def overdragelse(self, rs: Overdragelse) -> None:
        if rs.vederlag is not None and not 0 <= rs.vederlag <= MAX_BELOEP:
            self.fail(Kontroll.BELOEP_UGYLDIG, str(rs.vederlag), element="vederlag")
        sellers: list[Party] = []
        for omsatt in rs.omsatt:
            if not self.unit_known(omsatt.del_av):
                continue
            key = omsatt.del_av.unit.key
            if not self._type_fits(rs, omsatt.del_av):
                self.fail(Kontroll.REGISTERENHETSRETT_FEIL_TYPE, f"{omsatt.del_av.rettstype} i {omsatt.del_av.unit}")
            owned = self.work.owned(key)
            sold = [a for a in omsatt.solgte if a.holder is not None]
            strangers = [
                a.holder for a in sold if a.holder is not None and owned.get(a.holder, Fraction(0)) < a.fraction
            ]
            if strangers or len(sold) != len(omsatt.solgte) or not sold:
                self.fail(Kontroll.SELGER_ER_IKKE_HJEMMELSHAVER, _names(strangers) or str(omsatt.del_av.unit))
            broken = [a for a in (*omsatt.kjoepte, *omsatt.solgte) if not _is_share(a)]
            if broken:  # 1/0 or 3/2: no share of anything, and nothing the register can hold
                self.fail(Kontroll.ANDEL_UGYLDIG, ", ".join(f"{a.teller}/{a.nevner}" for a in broken))
            if sum(a.fraction for a in omsatt.kjoepte) != sum(a.fraction for a in omsatt.solgte) or any(
                a.holder is None for a in omsatt.kjoepte
            ):
                self.fail(Kontroll.ANDELER_STEMMER_IKKE, str(omsatt.del_av.unit))
            unsigned = [a.holder for a in sold if a.holder is not None and not self.signed(a.holder)]
            if unsigned:
                self.fail(Kontroll.SELGER_HAR_IKKE_SIGNERT, _names(unsigned))
            sellers.extend(a.holder for a in sold if a.holder is not None)
            self.restrictions(key, sellers)
            for a in sold:
                if a.holder is not None and a.holder in owned:
                    owned[a.holder] -= a.fraction
                    if owned[a.holder] <= 0:
                        del owned[a.holder]
            bought = [Share(a.holder, a.teller, a.nevner) for a in omsatt.kjoepte if a.holder and _is_share(a)]
            self.work.add_owners(key, bought)
        self.sivilstand(sellers, rs.sivilstand)

    def heftelse(self, rs: Heftelse) -> None:
        is_pant = rs.element == "pant"
        self.amounts(rs.beloep, required=rs.element != "annenHeftelse")
        if not rs.rettighetshavere and rs.element != "tvangsforretning":
            self.fail(Kontroll.IDENTIFIKASJONSNUMMER_UKJENT, "ingen rettighetshaver", element="rettighetshavere")
        if is_pant:
            unsigned = [p for p in rs.pantsettere if not self.signed(p)]
            if unsigned or not rs.pantsettere:
                self.fail(Kontroll.PANTSETTER_HAR_IKKE_SIGNERT, _names(unsigned) or "ingen pantsetter")
            self.sivilstand(list(rs.pantsettere), rs.sivilstand)
        for part in rs.hefter_i:
            if not self.unit_known(part):
                continue
            owned = self.work.owned(part.unit.key)
            holders = [a.holder for a in part.shares if a.holder is not None] if part.shares else list(owned)
            missing = [
                a.holder for a in part.shares if a.holder is None or owned.get(a.holder, Fraction(0)) < a.fraction
            ]
            if is_pant and (missing or any(h not in rs.pantsettere for h in holders)):
                self.fail(Kontroll.PANTSETTER_ER_IKKE_HJEMMELSHAVER, str(part.unit), element="hefterI")
            elif missing and not is_pant:
                self.fail(Kontroll.ANDEL_FINNES_IKKE, str(part.unit), element="begrensetTil")
            if rs.element == "annenHeftelse":
                unsigned = [h for h in holders if not self.signed(h)]
                if unsigned:
                    self.fail(Kontroll.HJEMMELSHAVER_HAR_IKKE_SIGNERT, _names(unsigned))
            if rs.element != "tvangsforretning":
                self.restrictions(part.unit.key, holders)

    def rettsendring(self, rs: Rettsendring) -> None:
        if rs.inline or rs.element == "prioritetsbestemmelseForIkkeTinglystDokument":
            self.fail(Kontroll.HENVISNING_TIL_IKKE_TINGLYST, f"{rs.inline or 1} henvisning(er)")
        for target in rs.endrer:
            rows = self.work.active(target.ref)
            if not rows:
                self.fail(Kontroll.RETTIGHET_FINNES_IKKE, str(target.ref), element="rettsstiftelseReferanse")
                continue
            right = rows[0]
            if not code_matches(target.kode, right.kind):
                self.fail(
                    Kontroll.RETTIGHET_FEIL_TYPE, f"{target.ref} er ikke {target.kode}", element="rettsstiftelsestype"
                )
            holders = [right.holder] if right.holder else [p for row in rows for p in self.work.owned(row.unit.key)]
            unsigned = [h for h in holders if not self.signed(h)]
            if unsigned:
                self.fail(Kontroll.RETTIGHETSHAVER_HAR_IKKE_SIGNERT, f"{target.ref}: {_names(unsigned)}")
            if rs.element == "nedkvittering":
                current = right.beloep or 0
                if not rs.nedkvittert_til or any(not 0 < b < current for b in rs.nedkvittert_til):
                    self.fail(Kontroll.NEDKVITTERING_OEKER_BELOEP, f"{target.ref}: tinglyst {current}")
            if rs.element == "transport" and (set(rs.fra) != {right.holder} or not rs.til):
                self.fail(Kontroll.FRA_RETTIGHETSHAVER_STEMMER_IKKE, f"{target.ref}: {right.holder}")
            if rs.element == "prioritetsbestemmelseForDokumentnummer":
                self.priority(right, rs)
            if rs.element == "sletting":
                self.work.remove(target.ref)

    def priority(self, yielding: Right, rs: Rettsendring) -> None:
        """A right can only yield to rights on the same unit that now stand behind it."""
        for target in rs.veket_for:
            rows = [r for r in self.work.active(target.ref) if r.unit.key == yielding.unit.key]
            if not rows or rows[0].registered_at < yielding.registered_at:
                self.fail(Kontroll.PRIORITET_STEMMER_IKKE, f"{yielding.ref} viker for {target.ref}")


def judge(forsendelse: Forsendelse, state: Grunnbok, registers: Registers) -> list[Kontrollresultat]:
    """Every failed control of ``forsendelse`` against ``state`` (which the judging changes: pass a copy)."""
    j = Judge(forsendelse, state, registers)
    j.message()
    for doc in forsendelse.ordered():
        j.document(doc)
    return j.results
