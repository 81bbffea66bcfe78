"""The e-tinglysing use cases: (operation, file) in, ``forsendelsesstatus`` documents out.

``sendTilTinglysing`` answers MOTTATT at receipt (a repeated forsendelsesreferanse of the same innsender is
returned there and then, with no innsendingId), then judges the submission against the register: any
IKKE_GODKJENT returns it (AVSLUTTET/AVVIST, nothing registered); otherwise it is registered whole in
følgebrev order (UNDER_BEHANDLING, with its registration time, which is its priority) and ends TINGLYST,
or, with UAVKLART results, waits for a case officer (``decide``) to end it TINGLYST or NEKTET. A failure of
the simulator's own store leaves it UKJENT_TEKNISK_FEIL, to be taken up again (``resume``). ``valider``
answers the control results only; ``hentStatus`` the latest status.
"""

from __future__ import annotations

import enum
import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from participants.kartverket.etinglysing import status as st
from participants.kartverket.etinglysing import tables as et
from participants.kartverket.etinglysing.container import unpack
from participants.kartverket.etinglysing.controls import (
    Behandlingsutfall,
    Kontroll,
    Kontrollresultat,
    Saksstatus,
    behandlingsutfall,
)
from participants.kartverket.etinglysing.decode import unit_of
from participants.kartverket.etinglysing.model import Forsendelse
from participants.kartverket.etinglysing.population import Registers
from participants.kartverket.etinglysing.rules import judge
from participants.kartverket.etinglysing.schema import (
    NAMESPACE,
    SchemaError,
    Unreadable,
    load_schema,
    parse_valid,
    schema_path,
)
from participants.kartverket.etinglysing.sdo import open_signed
from participants.kartverket.etinglysing.store import Writer, load, undo
from participants.kartverket.model import Registerenhet
from participants.kartverket.register import LandRegister, RegisterTransaction
from participants.kartverket.tables import metadata

log = logging.getLogger(__name__)

FIRST_INNSENDING_ID = 1010001


class Operation(enum.StrEnum):
    SEND_TIL_TINGLYSING = "sendTilTinglysing"
    VALIDER = "valider"
    HENT_STATUS = "hentStatus"


class UnknownInnsending(LookupError):
    """No submission with that innsendingId from this innsender."""


class NotPending(ValueError):
    """The submission is not waiting for a case officer."""


class ETinglysing:
    """Kartverket's innsending interface over the simulator's land register."""

    def __init__(
        self,
        register: LandRegister,
        schema_dir: Path | None = None,
        *,
        registers: Registers | None = None,
        first_innsending_id: int = FIRST_INNSENDING_ID,
        link_base: str = "https://grunnbok.simulator.invalid/utskrift",
    ) -> None:
        self.register = register
        self.schema = load_schema(schema_path(schema_dir))
        self.registers = registers or Registers()
        self.first_innsending_id = first_innsending_id
        self.link_base = link_base

    async def prepare(self) -> None:
        async with self.register.engine.begin() as conn:
            await conn.run_sync(metadata.create_all, tables=list(et.ETINGLYSING_TABLES))

    async def handle(self, operation: str, payload: bytes, sender: str | None = None) -> list[bytes]:
        """Answer one file (a ZIP with one file, or the XML itself); raises Unreadable for a file that is
        not valid innsending XML or does not fit the operation, UnknownInnsending for hentStatus of an
        innsendingId the sender does not have."""
        try:
            op = Operation(operation)
        except ValueError:
            raise Unreadable([st_error(f"unknown operation {operation!r}")]) from None
        root = parse_valid(unpack(payload), self.schema)
        if op is Operation.HENT_STATUS:
            text = (root.text or "").strip()
            # ASCII digits of a number SQLite can hold: '²' is a digit to Python and 5000 digits are a number.
            if root.tag != f"{{{NAMESPACE}}}innsendingId" or not (text.isascii() and text.isdigit() and len(text) < 19):
                raise Unreadable([st_error("hentStatus takes an innsendingId")])
            return [await self.status(int(text), sender)]
        if root.tag != f"{{{NAMESPACE}}}forsendelse":
            raise Unreadable([st_error(f"{op.value} takes a forsendelse")])
        try:
            forsendelse, signature_results = open_signed(root, self.schema)
        except Unreadable:
            raise
        except (ValueError, LookupError, TypeError, ArithmeticError) as exc:
            # Valid against the schema, yet a value the decoding cannot take (a number field the schema types as
            # text, base64 that does not decode): the sender's mistake, answered as such, never a crash.
            raise Unreadable([st_error(f"the forsendelse cannot be read: {str(exc)[:300]}")]) from None
        if op is Operation.VALIDER:
            return [await self.validate(forsendelse, signature_results)]
        return await self.send(forsendelse, signature_results, payload, sender)

    # valider

    async def validate(self, forsendelse: Forsendelse, extra: list[Kontrollresultat] | None = None) -> bytes:
        async with self.register.transaction() as tx:
            state = await load(tx, forsendelse)
            # a signed message that cannot be opened is returned on that alone, as Kartverket does
            results = extra or judge(forsendelse, state, self.registers)
            await tx.connection.rollback()
        data = st.base_status(forsendelse.forsendelsesreferanse, None, None)
        if results:  # as Kartverket's: set only when something was found
            data["behandlingsinformasjon"] = st.behandlingsinformasjon(results)
        return st.encode(data, self.schema)

    # sendTilTinglysing

    async def send(
        self, forsendelse: Forsendelse, extra: list[Kontrollresultat], payload: bytes, sender: str | None = None
    ) -> list[bytes]:
        now = self.register.clock()
        async with self.register.transaction() as tx:
            if (await load(tx, forsendelse)).reference_used:
                data = st.base_status(forsendelse.forsendelsesreferanse, Saksstatus.AVSLUTTET, Behandlingsutfall.AVVIST)
                reason = f"forsendelsesreferanse {forsendelse.forsendelsesreferanse}"
                data["behandlingsinformasjon"] = st.behandlingsinformasjon(
                    [Kontrollresultat(Kontroll.FORSENDELSESREFERANSE_BRUKT, begrunnelser=(reason,))]
                )
                return [st.encode(data, self.schema)]
            highest = (await tx.connection.execute(select(func.max(et.innsendinger.c.innsending_id)))).scalar()
            innsending_id = max((highest or 0) + 1, self.first_innsending_id)
            data = st.base_status(
                forsendelse.forsendelsesreferanse, Saksstatus.MOTTATT, Behandlingsutfall.UAVKLART, innsending_id
            )
            await tx.connection.execute(
                insert(et.innsendinger).values(
                    innsending_id=innsending_id,
                    innsender=forsendelse.innsender,
                    avsender=sender or forsendelse.innsender,
                    forsendelsesreferanse=forsendelse.forsendelsesreferanse,
                    saksstatus=Saksstatus.MOTTATT.value,
                    behandlingsutfall=Behandlingsutfall.UAVKLART.value,
                    received_at=now,
                    status=json.dumps(data),
                    payload=payload,
                )
            )
        received = st.encode(data, self.schema)
        return [received, *await self.process(innsending_id, forsendelse, extra)]

    async def process(self, innsending_id: int, forsendelse: Forsendelse, extra: list[Kontrollresultat]) -> list[bytes]:
        base = st.base_status(forsendelse.forsendelsesreferanse, None, None, innsending_id)
        try:
            return await self._process(innsending_id, forsendelse, extra, base)
        except SQLAlchemyError:
            log.exception("innsending %s: technical failure, kept for a later attempt", innsending_id)
            data = {**base, "behandlingsutfall": "UAVKLART", "saksstatus": Saksstatus.UKJENT_TEKNISK_FEIL.value}
            await self._save(innsending_id, data, Saksstatus.UKJENT_TEKNISK_FEIL, Behandlingsutfall.UAVKLART)
            return [st.encode(data, self.schema)]

    async def _process(
        self, innsending_id: int, forsendelse: Forsendelse, extra: list[Kontrollresultat], base: st.StatusData
    ) -> list[bytes]:
        async with self.register.transaction() as tx:
            state = await load(tx, forsendelse)
            state.reference_used = False  # checked at receipt; the submission's own row now holds it
            results = extra or judge(forsendelse, state, self.registers)
            utfall = behandlingsutfall(results)
            if utfall is Behandlingsutfall.AVVIST:
                data = {**base, "behandlingsutfall": utfall.value, "saksstatus": Saksstatus.AVSLUTTET.value}
                data["behandlingsinformasjon"] = st.behandlingsinformasjon(results)
                await self._save(innsending_id, data, Saksstatus.AVSLUTTET, utfall, tx=tx)
                return [st.encode(data, self.schema)]
            at = self.register.clock()
            tinglyst = await Writer(tx, innsending_id, at).write(forsendelse)
            registered = {
                **base,
                "registreringstidspunkt": st.timestamp(at),
                "behandlingsutfall": Behandlingsutfall.UAVKLART.value,
                "saksstatus": Saksstatus.UNDER_BEHANDLING.value,
                "tinglysingsinformasjon": st.tinglysingsinformasjon(tinglyst),
            }
            if results:
                registered["behandlingsinformasjon"] = st.behandlingsinformasjon(results)
                await self._save(innsending_id, registered, Saksstatus.UNDER_BEHANDLING, utfall, tx=tx, at=at)
                return [st.encode(registered, self.schema)]
            final = await self._final(tx, innsending_id, registered, Behandlingsutfall.TINGLYST)
            await self._save(innsending_id, final, Saksstatus.AVSLUTTET, Behandlingsutfall.TINGLYST, tx=tx, at=at)
        return [st.encode(registered, self.schema), st.encode(final, self.schema)]

    async def _final(
        self, tx: RegisterTransaction, innsending_id: int, data: st.StatusData, utfall: Behandlingsutfall
    ) -> st.StatusData:
        """The closing status; a registration carries an extract of every unit its documents touched."""
        final = {**data, "behandlingsutfall": utfall.value, "saksstatus": Saksstatus.AVSLUTTET.value}
        if utfall is not Behandlingsutfall.TINGLYST:
            return final
        units: dict[str, Registerenhet] = {}
        references: dict[str, list[str]] = {}
        info = dict(final.get("tinglysingsinformasjon") or {"dokumentinformasjon": {}})
        for doc in info["dokumentinformasjon"].get("dokumentinformasjon", []):
            for item in doc["paavirkerRegisterenheter"].get("registerenhet", []):
                unit = unit_of(item)
                units[unit.key] = unit
                references.setdefault(unit.key, []).append(doc["dokumentreferanse"])
        extracts = [await tx.extract(unit) for unit in units.values()]
        info["grunnboksutskrifter"] = st.grunnboksutskrifter(extracts, references, self.link_base, innsending_id)
        final["tinglysingsinformasjon"] = info
        return final

    async def _save(
        self,
        innsending_id: int,
        data: st.StatusData,
        saksstatus: Saksstatus,
        utfall: Behandlingsutfall,
        *,
        tx: RegisterTransaction | None = None,
        at: datetime | None = None,
        undelivered: bool = False,
    ) -> None:
        values: dict[str, object] = {
            "status": json.dumps(data),
            "saksstatus": saksstatus.value,
            "behandlingsutfall": utfall.value,
            "undelivered": undelivered,
        }
        if at is not None:
            values["registreringstidspunkt"] = at
        query = update(et.innsendinger).where(et.innsendinger.c.innsending_id == innsending_id).values(**values)
        if tx is not None:
            await tx.connection.execute(query)
            return
        async with self.register.transaction() as own:
            await own.connection.execute(query)

    # hentStatus, the case officer, recovery

    async def _row(self, tx: RegisterTransaction, innsending_id: int, sender: str | None) -> Row[Any]:
        query = select(et.innsendinger).where(et.innsendinger.c.innsending_id == innsending_id)
        if sender is not None:
            query = query.where(et.innsendinger.c.avsender == sender)
        row = (await tx.connection.execute(query.with_for_update())).first()
        if row is None:
            raise UnknownInnsending(str(innsending_id))
        return row

    async def status(self, innsending_id: int, sender: str | None = None) -> bytes:
        """The latest status of a submission; ``sender`` limits the answer to the submissions it sent."""
        async with self.register.transaction() as tx:
            row = await self._row(tx, innsending_id, sender)
        return st.encode(json.loads(row.status), self.schema)

    async def pending(self) -> list[tuple[int, str, str, str]]:
        """Submissions waiting for a case officer: innsendingId, innsender, forsendelsesreferanse, status JSON."""
        i = et.innsendinger
        query = select(i.c.innsending_id, i.c.innsender, i.c.forsendelsesreferanse, i.c.status).where(
            i.c.saksstatus == Saksstatus.UNDER_BEHANDLING.value
        )
        async with self.register.transaction() as tx:
            rows = (await tx.connection.execute(query.order_by(i.c.innsending_id))).all()
        return [(r.innsending_id, r.innsender, r.forsendelsesreferanse, r.status) for r in rows]

    async def decide(self, innsending_id: int, utfall: Behandlingsutfall) -> bytes:
        """A case officer ends a submission in manual handling as TINGLYST, or NEKTET: then what it changed in
        the register is set back, while its documents keep their numbers and registration time."""
        if utfall not in (Behandlingsutfall.TINGLYST, Behandlingsutfall.NEKTET):
            raise ValueError("a case officer ends a submission as TINGLYST or NEKTET")
        async with self.register.transaction() as tx:
            row = await self._row(tx, innsending_id, None)
            if row.saksstatus != Saksstatus.UNDER_BEHANDLING.value:
                raise NotPending(f"innsending {innsending_id} is {row.saksstatus}/{row.behandlingsutfall}")
            if utfall is Behandlingsutfall.NEKTET:
                await undo(tx, innsending_id)
            final = await self._final(tx, innsending_id, json.loads(row.status), utfall)
            await self._save(innsending_id, final, Saksstatus.AVSLUTTET, utfall, tx=tx, undelivered=True)
        return st.encode(final, self.schema)

    async def resume(self) -> list[bytes]:
        """Take up again the submissions a technical failure left waiting (MOTTATT or UKJENT_TEKNISK_FEIL)."""
        i = et.innsendinger
        waiting = i.c.saksstatus.in_([Saksstatus.MOTTATT.value, Saksstatus.UKJENT_TEKNISK_FEIL.value])
        async with self.register.transaction() as tx:
            rows = (await tx.connection.execute(select(i.c.innsending_id, i.c.payload).where(waiting))).all()
        answers: list[bytes] = []
        for row in rows:
            root = parse_valid(unpack(row.payload), self.schema)
            forsendelse, extra = open_signed(root, self.schema)
            answers.extend(await self.process(row.innsending_id, forsendelse, extra))
            async with self.register.transaction() as tx:
                await tx.connection.execute(
                    update(i).where(i.c.innsending_id == row.innsending_id).values(undelivered=True)
                )
        return answers

    async def undelivered(self) -> list[tuple[int, str, bytes]]:
        """Statuses decided outside a request, not yet sent: innsendingId, the sender to send to, the status."""
        i = et.innsendinger
        query = select(i.c.innsending_id, i.c.avsender, i.c.status).where(i.c.undelivered.is_(True))
        async with self.register.transaction() as tx:
            rows = (await tx.connection.execute(query.order_by(i.c.innsending_id))).all()
        return [(r.innsending_id, r.avsender, st.encode(json.loads(r.status), self.schema)) for r in rows]

    async def delivered(self, innsending_id: int) -> None:
        i = et.innsendinger
        async with self.register.transaction() as tx:
            await tx.connection.execute(update(i).where(i.c.innsending_id == innsending_id).values(undelivered=False))


def st_error(message: str) -> SchemaError:
    return SchemaError(0, 0, message)
