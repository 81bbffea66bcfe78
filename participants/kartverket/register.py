"""The land register's repository: reads the working copy the rules need and writes a registration, each
inside one database transaction, so a package is registered whole or not at all."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, Row, Select, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from participants.kartverket import tables as t
from participants.kartverket.etinglysing import tables as _etinglysing_tables  # noqa: F401  (create_all makes them too)
from participants.kartverket.model import (
    Borettslagsandel,
    DocumentNumber,
    Eierskifte,
    Grunnboksutskrift,
    Matrikkelenhet,
    Package,
    Pant,
    Party,
    PartyKind,
    RegisteredDocument,
    Registerenhet,
    Right,
    RightKind,
    RightRef,
    Samtykke,
    Share,
    units_of,
)
from participants.kartverket.rules import RegisterState

NORWAY = ZoneInfo("Europe/Oslo")
DEFAULT_EMBETE = 200


class UnknownUnit(LookupError):
    """The unit is not in the register."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _unit_of(row: Row[Any]) -> Registerenhet:
    if row.kind == "borettslagsandel":
        return Borettslagsandel(row.borettslag_orgnr, row.andelsnummer)
    return Matrikkelenhet(row.kommunenummer, row.gaardsnummer, row.bruksnummer, row.festenummer, row.seksjonsnummer)


def _inserted_id(result: CursorResult[Any]) -> int:
    """The integer key the database gave the row one insert made."""
    key = result.inserted_primary_key
    if key is None or not isinstance(key[0], int):
        raise RuntimeError("the insert returned no integer key")
    return key[0]


def _unit_values(unit: Registerenhet, address: str) -> dict[str, object]:
    if isinstance(unit, Borettslagsandel):
        return {
            "key": unit.key,
            "kind": "borettslagsandel",
            "borettslag_orgnr": unit.orgnr,
            "andelsnummer": unit.andelsnummer,
            "address": address,
        }
    return {
        "key": unit.key,
        "kind": "matrikkelenhet",
        "kommunenummer": unit.kommunenummer,
        "gaardsnummer": unit.gaardsnummer,
        "bruksnummer": unit.bruksnummer,
        "festenummer": unit.festenummer,
        "seksjonsnummer": unit.seksjonsnummer,
        "address": address,
    }


def _party(kind: str | None, ident: str | None, name: str) -> Party | None:
    if kind is None or ident is None:
        return None
    return Party(PartyKind(kind), ident, name)


def _party_values(party: Party | None) -> dict[str, object]:
    if party is None:
        return {"holder_kind": None, "holder_ident": None, "holder_name": ""}
    return {"holder_kind": party.kind.value, "holder_ident": party.ident, "holder_name": party.name}


def rights_query() -> Select[Any]:
    """Rights joined with their document and unit, labelled so row attributes do not collide."""
    r, d, u = t.rettigheter, t.dokumenter, t.registerenheter
    return (
        select(
            r.c.id,
            r.c.rettsstiftelsesnummer,
            r.c.kind.label("right_kind"),
            r.c.holder_kind,
            r.c.holder_ident,
            r.c.holder_name,
            r.c.beloep,
            r.c.text,
            r.c.active,
            d.c.year,
            d.c.number,
            d.c.embete,
            d.c.registered_at,
            u.c.kind,
            u.c.kommunenummer,
            u.c.gaardsnummer,
            u.c.bruksnummer,
            u.c.festenummer,
            u.c.seksjonsnummer,
            u.c.borettslag_orgnr,
            u.c.andelsnummer,
        )
        .join(d, d.c.id == r.c.document_id)
        .join(u, u.c.id == r.c.unit_id)
        .order_by(d.c.registered_at, d.c.year, d.c.number, r.c.rettsstiftelsesnummer)
    )


def right_from_row(row: Row[Any]) -> Right:
    return Right(
        ref=RightRef(DocumentNumber(row.year, row.number, row.embete), row.rettsstiftelsesnummer),
        kind=RightKind(row.right_kind),
        unit=_unit_of(row),
        holder=_party(row.holder_kind, row.holder_ident, row.holder_name),
        registered_at=_aware(row.registered_at),
        beloep=row.beloep,
        text=row.text,
        active=row.active,
    )


class RegisterTransaction:
    """One database transaction on the register: everything done through it commits or rolls back together."""

    def __init__(self, conn: AsyncConnection, embete: int) -> None:
        self._conn = conn
        self._embete = embete

    @property
    def connection(self) -> AsyncConnection:
        return self._conn

    async def _unit_id(self, unit: Registerenhet, *, lock: bool = False) -> int | None:
        query = select(t.registerenheter.c.id).where(t.registerenheter.c.key == unit.key)
        if lock:
            query = query.with_for_update()
        return (await self._conn.execute(query)).scalar_one_or_none()

    async def _require_unit_id(self, unit: Registerenhet) -> int:
        unit_id = await self._unit_id(unit)
        if unit_id is None:
            raise UnknownUnit(str(unit))
        return unit_id

    async def unit_by_key(self, key: str) -> Registerenhet:
        row = (await self._conn.execute(select(t.registerenheter).where(t.registerenheter.c.key == key))).first()
        if row is None:
            raise UnknownUnit(key)
        return _unit_of(row)

    async def owners(self, unit_id: int) -> list[Share]:
        h = t.hjemmel
        rows = await self._conn.execute(select(h).where(h.c.unit_id == unit_id, h.c.active.is_(True)).order_by(h.c.id))
        return [Share(Party(PartyKind(r.holder_kind), r.holder_ident, r.holder_name), r.teller, r.nevner) for r in rows]

    async def rights(self, unit_id: int, *, active_only: bool = True) -> list[Right]:
        query = rights_query().where(t.rettigheter.c.unit_id == unit_id)
        if active_only:
            query = query.where(t.rettigheter.c.active.is_(True))
        return [right_from_row(row) for row in await self._conn.execute(query)]

    async def unit_count(self) -> int:
        return (await self._conn.execute(select(func.count()).select_from(t.registerenheter))).scalar_one()

    async def receive(self, sender_orgnr: str, reference: str, at: datetime) -> bool:
        """Note a submitter's reference at receipt, whatever becomes of the package; False when that
        submitter has used it before (another submitter's same reference is no repeat)."""
        refs = t.innsendingsreferanser
        seen = select(refs.c.reference).where(refs.c.sender_orgnr == sender_orgnr, refs.c.reference == reference)
        if (await self._conn.execute(seen)).first() is not None:
            return False
        await self._conn.execute(insert(refs).values(sender_orgnr=sender_orgnr, reference=reference, received_at=at))
        return True

    async def load_state(self, package: Package) -> RegisterState:
        """The working copy for the units ``package`` touches, with those units locked until the transaction ends."""
        state = RegisterState()
        units = {unit.key: unit for signed in package.documents for unit in units_of(signed.document)}
        for key, unit in sorted(units.items()):
            unit_id = await self._unit_id(unit, lock=True)
            if unit_id is None:
                continue
            state.units.add(key)
            state.owners[key] = await self.owners(unit_id)
            state.rights.update(((key, right.ref), right) for right in await self.rights(unit_id))
        return state

    async def _next_number(self, year: int) -> int:
        series = t.dokumentnummerserier
        row = (
            await self._conn.execute(select(series.c.last_number).where(series.c.year == year).with_for_update())
        ).first()
        if row is None:
            highest = (
                await self._conn.execute(select(func.max(t.dokumenter.c.number)).where(t.dokumenter.c.year == year))
            ).scalar_one_or_none()
            number = int(highest or 0) + 1
            await self._conn.execute(insert(series).values(year=year, last_number=number))
            return number
        number = int(row.last_number) + 1
        await self._conn.execute(update(series).where(series.c.year == year).values(last_number=number))
        return number

    async def add_document(
        self,
        kind: str,
        registered_at: datetime,
        *,
        number: DocumentNumber | None = None,
        reference: str = "",
        innsendingsreferanse: str | None = None,
    ) -> tuple[int, DocumentNumber]:
        """Store a document; without ``number`` it takes the next running number of its registration year."""
        if number is None:
            year = registered_at.astimezone(NORWAY).year
            number = DocumentNumber(year, await self._next_number(year), self._embete)
        result = await self._conn.execute(
            insert(t.dokumenter).values(
                year=number.year,
                number=number.number,
                embete=number.embete,
                kind=kind,
                registered_at=registered_at,
                reference=reference,
                innsendingsreferanse=innsendingsreferanse,
            )
        )
        return _inserted_id(result), number

    async def add_unit(self, unit: Registerenhet, address: str = "") -> int:
        result = await self._conn.execute(insert(t.registerenheter).values(**_unit_values(unit, address)))
        return _inserted_id(result)

    async def add_owners(self, unit: Registerenhet, shares: Iterable[Share], document_id: int | None) -> None:
        unit_id = await self._require_unit_id(unit)
        for share in shares:
            await self._conn.execute(
                insert(t.hjemmel).values(
                    unit_id=unit_id,
                    teller=share.teller,
                    nevner=share.nevner,
                    document_id=document_id,
                    active=True,
                    **_party_values(share.holder),
                )
            )

    async def add_right(
        self,
        unit: Registerenhet,
        document_id: int,
        kind: RightKind,
        holder: Party | None,
        *,
        rettsstiftelsesnummer: int = 1,
        beloep: int | None = None,
        text: str = "",
    ) -> None:
        await self._conn.execute(
            insert(t.rettigheter).values(
                unit_id=await self._require_unit_id(unit),
                document_id=document_id,
                rettsstiftelsesnummer=rettsstiftelsesnummer,
                kind=kind.value,
                beloep=beloep,
                text=text,
                active=True,
                **_party_values(holder),
            )
        )

    async def _transfer(self, doc: Eierskifte, document_id: int) -> None:
        unit_id = await self._require_unit_id(doc.unit)
        h = t.hjemmel
        await self._conn.execute(
            update(h)
            .where(h.c.unit_id == unit_id, h.c.active.is_(True))
            .values(active=False, ended_by_document_id=document_id)
        )
        await self.add_owners(doc.unit, doc.buyers, document_id)

    async def _delete_right(self, unit: Registerenhet, ref: RightRef, document_id: int) -> None:
        r, d = t.rettigheter, t.dokumenter
        target = (
            select(r.c.id)
            .join(d, d.c.id == r.c.document_id)
            .where(
                r.c.unit_id == await self._require_unit_id(unit),
                d.c.year == ref.document.year,
                d.c.number == ref.document.number,
                d.c.embete == ref.document.embete,
                r.c.rettsstiftelsesnummer == ref.rettsstiftelsesnummer,
            )
        )
        right_id = (await self._conn.execute(target)).scalar_one()
        await self._conn.execute(
            update(r).where(r.c.id == right_id).values(active=False, deleted_by_document_id=document_id)
        )

    async def register(self, package: Package, registered_at: datetime) -> list[RegisteredDocument]:
        """Write every document of an assessed package: numbers in package order, all at one time. A consent
        (samtykke) is no registration of its own and gets no number."""
        registered = []
        for index, signed in enumerate(package.documents, start=1):
            doc = signed.document
            if isinstance(doc, Samtykke):
                continue
            document_id, number = await self.add_document(
                type(doc).__name__.lower(),
                registered_at,
                reference=doc.reference,
                innsendingsreferanse=package.innsendingsreferanse,
            )
            if isinstance(doc, Eierskifte):
                await self._transfer(doc, document_id)
            elif isinstance(doc, Pant):
                for unit in doc.units:
                    await self.add_right(unit, document_id, RightKind.PANT, doc.mortgagee, beloep=doc.beloep)
            else:
                await self._delete_right(doc.unit, doc.right, document_id)
            registered.append(RegisteredDocument(index, doc.reference, number, registered_at, (RightRef(number, 1),)))
        return registered

    async def extract(self, unit: Registerenhet) -> Grunnboksutskrift:
        row = (await self._conn.execute(select(t.registerenheter).where(t.registerenheter.c.key == unit.key))).first()
        if row is None:
            raise UnknownUnit(str(unit))
        return Grunnboksutskrift(unit, row.address, tuple(await self.owners(row.id)), tuple(await self.rights(row.id)))


class LandRegister:
    """The grunnbok: an async engine of its own, the office number it registers under, and a clock."""

    def __init__(
        self, engine: AsyncEngine, *, embete: int = DEFAULT_EMBETE, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.engine = engine
        self.embete = embete
        self.clock = clock

    @classmethod
    async def open(
        cls, url: str, *, embete: int = DEFAULT_EMBETE, clock: Callable[[], datetime] = utc_now
    ) -> LandRegister:
        """Connect and create the tables if missing: the simulator's store needs no migrations."""
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(t.metadata.create_all)
        return cls(engine, embete=embete, clock=clock)

    async def close(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[RegisterTransaction]:
        async with self.engine.begin() as conn:
            yield RegisterTransaction(conn, self.embete)

    async def extract(self, unit: Registerenhet) -> Grunnboksutskrift:
        """The grunnboksutskrift of ``unit``; raises UnknownUnit for a unit not in the register."""
        async with self.engine.connect() as conn:
            return await RegisterTransaction(conn, self.embete).extract(unit)

    async def document_count(self) -> int:
        async with self.engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(t.dokumenter))).scalar_one()
