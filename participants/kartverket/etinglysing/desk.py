"""The Kartverket simulator's manual handling as the broker console's case desk (``broker.console.case_desk``).

The simulator's state stays in its own database; the console opens that database through this desk and
records a decision there as the CLI does (``dsve sim kartverket-decide``). The simulator's receiver sends
the submitter the final status on its next poll, wherever it runs.

``dsve serve`` finds the desk through the entry point ``dsve.case_desks``: it is connected when
``DSVE_CONSOLE_GRUNNBOK_URL`` names the simulator's database (and the etinglysing schema set is configured).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import create_async_engine

from broker.console.case_desk import CaseClosed, CaseUnknown, Finding, ManualCase
from participants.kartverket.etinglysing.controls import Behandlingsutfall
from participants.kartverket.etinglysing.schema import SchemaUnavailable
from participants.kartverket.etinglysing.service import ETinglysing, NotPending, UnknownInnsending
from participants.kartverket.register import LandRegister
from participants.kartverket.seed import KARTVERKET

log = logging.getLogger(__name__)

DATABASE_ENV = "DSVE_CONSOLE_GRUNNBOK_URL"


def _findings(status: dict[str, Any]) -> tuple[Finding, ...]:
    listed = status.get("behandlingsinformasjon", {}).get("kontrollresultater", {}).get("kontrollresultat", [])
    return tuple(
        Finding(
            k["kodeverdi"],
            k["navn"],
            k["utfall"],
            k.get("dokumentindeks"),
            k.get("rettsstiftelsesindeks"),
            tuple(b["tekst"] for b in k.get("begrunnelser", {}).get("begrunnelse", [])),
        )
        for k in listed
    )


def _documents(status: dict[str, Any]) -> tuple[str, ...]:
    info = status.get("tinglysingsinformasjon") or {}
    return tuple(
        f"{d['dokumentaar']}/{d['dokumentnummer']}/{d['embetenummer']}"
        for d in info.get("dokumentinformasjon", {}).get("dokumentinformasjon", [])
    )


class ETinglysingDesk:
    """Case desk over an e-tinglysing service (its register's database)."""

    def __init__(self, service: ETinglysing, orgnr: str = KARTVERKET.ident) -> None:
        self.service = service
        self._orgnr = orgnr
        self._prepared = False

    @property
    def orgnr(self) -> str:
        return self._orgnr

    async def _ready(self) -> ETinglysing:
        if not self._prepared:  # the simulator may not have made its tables yet
            await self.service.prepare()
            self._prepared = True
        return self.service

    async def pending(self) -> Sequence[ManualCase]:
        cases = []
        for innsending_id, innsender, reference, raw in await (await self._ready()).pending():
            status = json.loads(raw)
            cases.append(
                ManualCase(
                    innsending_id,
                    innsender,
                    reference,
                    str(status.get("registreringstidspunkt", "")),
                    _documents(status),
                    _findings(status),
                )
            )
        return cases

    async def decide(self, innsending_id: int, utfall: str, officer: str) -> str:
        service = await self._ready()
        try:
            await service.decide(innsending_id, Behandlingsutfall(utfall))
        except UnknownInnsending:
            raise CaseUnknown(str(innsending_id)) from None
        except NotPending as closed:
            raise CaseClosed(str(closed)) from None
        log.info("innsending %s ended %s by case officer %s", innsending_id, utfall, officer)
        return utfall


def open_desk() -> ETinglysingDesk | None:
    """The entry point: a desk on the database ``DSVE_CONSOLE_GRUNNBOK_URL`` names, else None."""
    url = os.environ.get(DATABASE_ENV)
    if not url:
        return None
    try:
        service = ETinglysing(LandRegister(create_async_engine(url)))
    except SchemaUnavailable as missing:
        log.warning("%s is set but the console's manual handling is off: %s", DATABASE_ENV, missing)
        return None
    return ETinglysingDesk(service)
