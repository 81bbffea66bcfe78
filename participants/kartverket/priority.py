"""The priority a registered mortgage holds in the grunnbok: its place among the unit's active mortgages in
registration order. The megler reads it here before telling the buyers' bank its agreed priority is reached."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from participants.kartverket.model import Borettslagsandel, DocumentNumber, Matrikkelenhet, RightKind, RightRef
from participants.kartverket.register import LandRegister, UnknownUnit
from participants.messages import model as msg

PriorityLookup = Callable[[msg.Registerenhet, msg.RightReference], Awaitable[int | None]]


def register_priority(register: LandRegister) -> PriorityLookup:
    """A lookup over ``register``: None when the unit or the right is not (or no longer) in it."""

    async def lookup(unit: msg.Registerenhet, right: msg.RightReference) -> int | None:
        if isinstance(unit, msg.Borettslagsandel):
            key: Matrikkelenhet | Borettslagsandel = Borettslagsandel(unit.orgnr, unit.andelsnummer)
        else:
            key = Matrikkelenhet(
                unit.kommunenummer, unit.gaardsnummer, unit.bruksnummer, unit.festenummer, unit.seksjonsnummer
            )
        wanted = RightRef(DocumentNumber(right.year, right.document_number, right.office), right.right_number)
        try:
            extract = await register.extract(key)
        except UnknownUnit:
            return None
        mortgages = [r.ref for r in extract.rights if r.kind is RightKind.PANT]
        return mortgages.index(wanted) + 1 if wanted in mortgages else None

    return lookup
