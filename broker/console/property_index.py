"""Which property units (matrikkelenheter) each stored message names, for the case search by unit.

The console indexes messages after intake from their stored content, so the submit path pays nothing for
a feature of the console: a background task catches up every few seconds, and a search catches up first,
so a message accepted a moment ago is found. Content is read with the broker's hardened parser; a document
that cannot be read (or was purged) is marked indexed with no units.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

from lxml import etree
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.config import XmlLimits
from broker.domain.errors import Refusal
from broker.store.console_property_repository import ConsolePropertyRepository, PendingMessage, UnitRef
from broker.store.unit_of_work import UnitOfWork
from broker.xml.parsing import parse_xml

log = logging.getLogger("broker.console")

BATCH = 500
POLL_INTERVAL_S = 2.0


def _child_text(element: etree._Element, name: str) -> str | None:
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            return (child.text or "").strip()
    return None


def _number(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


def units_in(content: bytes | None, limits: XmlLimits) -> list[UnitRef]:
    """The matrikkelenheter a document names, as ``kommunenummer-gnr-bnr`` with feste- and seksjonsnummer."""
    if not content:
        return []
    try:
        tree = parse_xml(content, limits)
    except Refusal:
        return []
    units = []
    for element in tree.iter("{*}matrikkelenhet"):
        kommune = _child_text(element, "kommunenummer")
        gnr, bnr = _child_text(element, "gaardsnummer"), _child_text(element, "bruksnummer")
        if not (kommune and gnr and bnr and kommune.isdigit() and gnr.isdigit() and bnr.isdigit()):
            continue
        units.append(
            UnitRef(
                f"{kommune}-{int(gnr)}-{int(bnr)}",
                _number(_child_text(element, "festenummer")),
                _number(_child_text(element, "seksjonsnummer")),
            )
        )
    return units


def _extract(batch: Sequence[PendingMessage], limits: XmlLimits) -> list[tuple[PendingMessage, list[UnitRef]]]:
    return [(message, units_in(message.content, limits)) for message in batch]


class PropertyIndexer:
    """Keeps ``console_property_units`` up to date; one per process, any number of processes."""

    def __init__(self, engine: AsyncEngine, limits: XmlLimits, interval_s: float = POLL_INTERVAL_S) -> None:
        self._engine = engine
        self._limits = limits
        self._interval_s = interval_s
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def catch_up(self, budget_s: float = 10.0) -> int:
        """Index what is pending, batch by batch, until nothing is or the time budget is spent."""
        deadline = time.monotonic() + budget_s
        indexed = 0
        while True:
            count = await self._one_batch()
            indexed += count
            if count == 0 or time.monotonic() >= deadline:
                return indexed

    async def _one_batch(self) -> int:
        # One batch at a time under the lock, so a search's catch-up takes turns with the background task.
        # Reading and writing are separate transactions: on SQLite a read transaction cannot always turn into
        # a write one after another writer committed, while a fresh write waits its turn (busy timeout).
        async with self._lock:
            async with UnitOfWork(self._engine) as uow:
                pending = await ConsolePropertyRepository(uow.connection).unindexed(BATCH)
            if not pending:
                return 0
            # Parsing is CPU work: off the event loop, so pages and the API stay responsive.
            found = await asyncio.to_thread(_extract, pending, self._limits)
            async with UnitOfWork(self._engine) as uow:
                await ConsolePropertyRepository(uow.connection).record(found)
                await uow.commit()
            return len(pending)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="console-property-index")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                await self.catch_up()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("property-unit indexing failed; retrying")
            await asyncio.sleep(self._interval_s)
