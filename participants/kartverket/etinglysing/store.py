"""Reading the working copy a submission needs and writing what it registers, inside one register
transaction, so a submission is registered whole or not at all; and undoing it when a case officer
refuses it (NEKTET), which keeps its documents, numbers and registration time on record."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction

from sqlalchemy import and_, insert, or_, select, update

from participants.kartverket import tables as t
from participants.kartverket.etinglysing import tables as et
from participants.kartverket.etinglysing.grunnbok import Grunnbok, kind_for_code
from participants.kartverket.etinglysing.model import (
    Andel,
    Anmerkning,
    Dokument,
    Forsendelse,
    Heftelse,
    Overdragelse,
    Rettsendring,
    Tinglyst,
)
from participants.kartverket.model import DocumentNumber, Party, PartyKind, Registerenhet, RightRef, Share
from participants.kartverket.register import RegisterTransaction, right_from_row, rights_query


def units_named(forsendelse: Forsendelse) -> dict[str, Registerenhet]:
    units: dict[str, Registerenhet] = {}
    for doc in forsendelse.dokumenter:
        for rs in doc.rettsstiftelser:
            parts = rs.hefter_i if isinstance(rs, Heftelse) else ()
            parts += tuple(o.del_av for o in rs.omsatt) if isinstance(rs, Overdragelse) else ()
            units.update((p.unit.key, p.unit) for p in parts)
    return units


def refs_named(forsendelse: Forsendelse) -> set[RightRef]:
    return {
        h.ref
        for doc in forsendelse.dokumenter
        for rs in doc.rettsstiftelser
        if isinstance(rs, Rettsendring)
        for h in (*rs.endrer, *rs.veket_for)
    }


async def load(tx: RegisterTransaction, forsendelse: Forsendelse) -> Grunnbok:
    """The working copy: the named units (locked) with owners and rights, and the named rights wherever
    they are registered."""
    state = Grunnbok()
    conn = tx.connection
    expired = set((await conn.execute(select(et.utgaatte_registerenheter.c.key))).scalars())
    for key in sorted(units_named(forsendelse)):
        row = (
            await conn.execute(select(t.registerenheter.c.id).where(t.registerenheter.c.key == key).with_for_update())
        ).first()
        if row is None:
            continue
        state.units.add(key)
        if key in expired:
            state.expired.add(key)
        state.add_owners(key, await tx.owners(row.id))
        for right in await tx.rights(row.id):
            state.rights.setdefault(right.ref, []).append(right)
    refs = refs_named(forsendelse) - set(state.rights)
    if refs:
        d, r = t.dokumenter, t.rettigheter
        wanted = or_(
            *(
                and_(
                    d.c.year == ref.document.year,
                    d.c.number == ref.document.number,
                    d.c.embete == ref.document.embete,
                    r.c.rettsstiftelsesnummer == ref.rettsstiftelsesnummer,
                )
                for ref in refs
            )
        )
        for row in await conn.execute(rights_query().where(wanted, r.c.active.is_(True))):
            right = right_from_row(row)
            state.rights.setdefault(right.ref, []).append(right)
            state.owners.setdefault(right.unit.key, {})
            if right.unit.key not in state.units:
                state.units.add(right.unit.key)
                unit_id = (
                    await conn.execute(select(t.registerenheter.c.id).where(t.registerenheter.c.key == right.unit.key))
                ).scalar_one()
                state.add_owners(right.unit.key, await tx.owners(unit_id))
    b, d = et.begrensede_rettigheter, t.dokumenter
    limited = select(d.c.year, d.c.number, d.c.embete, b).join(d, d.c.id == b.c.document_id)
    for row in await conn.execute(limited.where(b.c.unit_key.in_(sorted(state.units)))):
        ref = RightRef(DocumentNumber(row.year, row.number, row.embete), row.rettsstiftelsesnummer)
        state.limited_to.setdefault((ref, row.unit_key), set()).add(row.holder_ident)
    seen = select(et.innsendinger.c.innsending_id).where(
        et.innsendinger.c.innsender == forsendelse.innsender,
        et.innsendinger.c.forsendelsesreferanse == forsendelse.forsendelsesreferanse,
    )
    state.reference_used = (await conn.execute(seen)).first() is not None
    return state


def _holder(parties: tuple[Party, ...]) -> Party | None:
    return parties[0] if parties else None


def _share_text(shares: list[Share]) -> str:
    return "; ".join(f"i andel {s.teller}/{s.nevner} tilhørende {s.holder}" for s in shares)


class Writer:
    """Writes one submission's documents into the register, in følgebrev order, at one registration time."""

    def __init__(self, tx: RegisterTransaction, innsending_id: int, at: datetime) -> None:
        self.tx = tx
        self.conn = tx.connection
        self.innsending_id = innsending_id
        self.at = at

    async def unit_id(self, unit: Registerenhet) -> int:
        query = select(t.registerenheter.c.id).where(t.registerenheter.c.key == unit.key)
        return int((await self.conn.execute(query)).scalar_one())

    async def write(self, forsendelse: Forsendelse) -> list[Tinglyst]:
        return [await self.document(doc, forsendelse.forsendelsesreferanse) for doc in forsendelse.ordered()]

    async def document(self, doc: Dokument, forsendelsesreferanse: str) -> Tinglyst:
        first = doc.rettsstiftelser[0].element if doc.rettsstiftelser else "dokument"
        document_id, number = await self.tx.add_document(
            first[:20], self.at, reference=doc.reference[:100], innsendingsreferanse=forsendelsesreferanse[:100]
        )
        await self.conn.execute(
            insert(et.innsendingsdokumenter).values(innsending_id=self.innsending_id, document_id=document_id)
        )
        rights: list[tuple[str, int]] = []
        units: dict[str, Registerenhet] = {}
        for nummer, rs in enumerate(doc.rettsstiftelser, start=1):
            rights.append((rs.reference, nummer))
            if isinstance(rs, Overdragelse):
                for omsatt in rs.omsatt:
                    units[omsatt.del_av.unit.key] = omsatt.del_av.unit
                    await self.transfer(omsatt.del_av.unit, omsatt.solgte, omsatt.kjoepte, document_id)
            elif isinstance(rs, Heftelse):
                holder = _holder(rs.rettighetshavere) or _holder(rs.saksoekere)
                for part in rs.hefter_i:
                    units[part.unit.key] = part.unit
                    shares = [Share(a.holder, a.teller, a.nevner) for a in part.shares if a.holder]
                    await self.tx.add_right(
                        part.unit,
                        document_id,
                        kind_for_code(rs.kode),
                        holder,
                        rettsstiftelsesnummer=nummer,
                        beloep=rs.beloep[0] if rs.beloep else None,
                        text=(f"{rs.kodenavn or rs.kode} " + _share_text(shares)).strip()[:500],
                    )
                    for share in shares:
                        await self.conn.execute(
                            insert(et.begrensede_rettigheter).values(
                                document_id=document_id,
                                rettsstiftelsesnummer=nummer,
                                unit_key=part.unit.key,
                                holder_ident=share.holder.ident,
                            )
                        )
            elif isinstance(rs, Rettsendring):
                units.update(await self.change(rs, document_id))
            elif isinstance(rs, Anmerkning):
                units.update(await self.note(rs, document_id, nummer))
        return Tinglyst(doc.reference, number, tuple(rights), tuple(units.values()))

    async def transfer(
        self, unit: Registerenhet, solgte: tuple[Andel, ...], kjoepte: tuple[Andel, ...], document_id: int
    ) -> None:
        h = t.hjemmel
        unit_id = await self.unit_id(unit)
        for sold in solgte:
            if sold.holder is None:
                continue
            seller = sold.holder.ident
            query = select(h).where(h.c.unit_id == unit_id, h.c.active.is_(True), h.c.holder_ident == seller)
            rows = (await self.conn.execute(query)).all()
            owned = sum((Fraction(r.teller, r.nevner) for r in rows), Fraction(0))
            await self.conn.execute(
                update(h).where(h.c.id.in_([r.id for r in rows])).values(active=False, ended_by_document_id=document_id)
            )
            rest = owned - sold.fraction
            if rest > 0 and rows:
                keep = Share(
                    Party(PartyKind(rows[0].holder_kind), rows[0].holder_ident, rows[0].holder_name),
                    rest.numerator,
                    rest.denominator,
                )
                await self.tx.add_owners(unit, [keep], document_id)
        await self.tx.add_owners(unit, [Share(a.holder, a.teller, a.nevner) for a in kjoepte if a.holder], document_id)

    async def _targets(self, ref: RightRef) -> list[tuple[int, Registerenhet]]:
        r, d = t.rettigheter, t.dokumenter
        query = (
            rights_query()
            .add_columns(r.c.id.label("right_id"))
            .where(
                d.c.year == ref.document.year,
                d.c.number == ref.document.number,
                d.c.embete == ref.document.embete,
                r.c.rettsstiftelsesnummer == ref.rettsstiftelsesnummer,
                r.c.active.is_(True),
            )
        )
        return [(row.right_id, right_from_row(row).unit) for row in await self.conn.execute(query)]

    async def change(self, rs: Rettsendring, document_id: int) -> dict[str, Registerenhet]:
        r = t.rettigheter
        units: dict[str, Registerenhet] = {}
        for target in rs.endrer:
            for right_id, unit in await self._targets(target.ref):
                units[unit.key] = unit
                values: dict[str, object] = {}
                if rs.element == "sletting":
                    values = {"active": False, "deleted_by_document_id": document_id}
                elif rs.element == "nedkvittering" and rs.nedkvittert_til:
                    values = {"beloep": rs.nedkvittert_til[0]}
                elif rs.element == "transport" and rs.til:
                    to = rs.til[0]
                    values = {"holder_kind": to.kind.value, "holder_ident": to.ident, "holder_name": to.name}
                if values:
                    await self.conn.execute(update(r).where(r.c.id == right_id).values(**values))
        return units

    async def note(self, rs: Anmerkning, document_id: int, nummer: int) -> dict[str, Registerenhet]:
        """A note on a person is entered on every unit the person holds a share of."""
        h, u = t.hjemmel, t.registerenheter
        rows = await self.conn.execute(
            select(u.c.key)
            .join(h, h.c.unit_id == u.c.id)
            .where(h.c.holder_ident == rs.person.ident, h.c.active.is_(True))
        )
        units: dict[str, Registerenhet] = {}
        for key in sorted(set(rows.scalars())):
            unit = await self.tx.unit_by_key(key)
            units[key] = unit
            text = f"{rs.kodenavn or rs.kode}" + (f", bostyrer {rs.bostyrer}" if rs.bostyrer else "")
            await self.tx.add_right(
                unit, document_id, kind_for_code(rs.kode), rs.person, rettsstiftelsesnummer=nummer, text=text
            )
        return units


async def undo(tx: RegisterTransaction, innsending_id: int) -> None:
    """A refusal after registration (NEKTET): the documents stay on record with their numbers and time, what
    they changed is set back (rights they made end, owners and rights they ended return)."""
    conn = tx.connection
    ids = list(
        (
            await conn.execute(
                select(et.innsendingsdokumenter.c.document_id).where(
                    et.innsendingsdokumenter.c.innsending_id == innsending_id
                )
            )
        ).scalars()
    )
    r, h = t.rettigheter, t.hjemmel
    await conn.execute(update(r).where(r.c.document_id.in_(ids)).values(active=False))
    await conn.execute(
        update(r).where(r.c.deleted_by_document_id.in_(ids)).values(active=True, deleted_by_document_id=None)
    )
    await conn.execute(update(h).where(h.c.document_id.in_(ids)).values(active=False))
    await conn.execute(
        update(h).where(h.c.ended_by_document_id.in_(ids)).values(active=True, ended_by_document_id=None)
    )
