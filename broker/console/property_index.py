"""Which property units (matrikkelenheter) each stored message names, for the case search by unit.

Intake reads the units off the document it has parsed anyway and tells the indexer after the commit
(``note``); a background task writes them to the index every few seconds, and a search catches up first, so
a message accepted a moment ago is found. Messages the indexer was not told about (stored before a restart
or by another process) are read from their stored content with the broker's hardened parser, in a thread;
a document that cannot be read (or was purged) is marked indexed with no units. Measured before intake
told it: re-reading and re-parsing every message cost 9 % of the broker's CPU under load."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from broker.config import XmlLimits
from broker.domain.errors import Refusal
from broker.domain.property_units import StoredUnits, UnitRef
from broker.periodic import cancel_and_wait, until_tick
from broker.store.console_property_repository import ConsolePropertyRepository, PendingMessage
from broker.store.outages import note_store_outage
from broker.store.unit_of_work import UnitOfWork
from broker.xml.parsing import parse_xml
from broker.xml.property_units import units_in_tree

log = logging.getLogger("broker.console")

BATCH = 500
NOTED_MAX = 20_000
SCAN_EVERY = 10
POLL_INTERVAL_S = 2.0


def units_in(content: bytes | None, limits: XmlLimits) -> list[UnitRef]:
    """The matrikkelenheter a stored document names; none when it is purged or cannot be read."""
    if not content:
        return []
    try:
        tree = parse_xml(content, limits)
    except Refusal:
        return []
    return list(units_in_tree(tree.getroot()))


def _extract(batch: Sequence[PendingMessage], limits: XmlLimits) -> list[tuple[PendingMessage, list[UnitRef]]]:
    return [(message, units_in(message.content, limits)) for message in batch]


class PropertyIndexer:
    """Keeps ``console_property_units`` up to date; one per process, any number of processes."""

    def __init__(self, engine: AsyncEngine, limits: XmlLimits, interval_s: float = POLL_INTERVAL_S) -> None:
        self._engine = engine
        self._limits = limits
        self._interval_s = interval_s
        self._lock = asyncio.Lock()
        self._noted: dict[str, tuple[int, tuple[UnitRef, ...]]] = {}
        self._task: asyncio.Task[None] | None = None

    def note(self, stored: Sequence[StoredUnits]) -> None:
        """Intake's word on what it just stored and the units each message names: no parse needed for them.

        Bounded: past ``NOTED_MAX`` the oldest notes are dropped, and those messages are read from the store."""
        for message in stored:
            if len(self._noted) >= NOTED_MAX:
                del self._noted[next(iter(self._noted))]
            self._noted[message.message_id] = (message.seq, message.units)

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
            found = [(m, list(self._noted.pop(m.id)[1])) for m in pending if m.id in self._noted]
            unknown = [m for m in pending if m.id not in {known.id for known, _ in found}]
            if unknown:
                async with UnitOfWork(self._engine) as uow:
                    contents = await ConsolePropertyRepository(uow.connection).contents([m.id for m in unknown])
                unknown = [PendingMessage(m.id, m.seq, contents.get(m.id)) for m in unknown]
                # Parsing is CPU work: off the event loop, so pages and the API stay responsive.
                found += await asyncio.to_thread(_extract, unknown, self._limits)
            async with UnitOfWork(self._engine) as uow:
                await ConsolePropertyRepository(uow.connection).record(found)
                await uow.commit()
            return len(pending)

    async def record_noted(self) -> int:
        """Write what intake noted, without looking for other pending messages: no scan, no parse."""
        async with self._lock:
            taken = list(self._noted.items())[:BATCH]
            if not taken:
                return 0
            for message_id, _ in taken:
                del self._noted[message_id]
            found = [(PendingMessage(message_id, seq, None), list(units)) for message_id, (seq, units) in taken]
            async with UnitOfWork(self._engine) as uow:
                await ConsolePropertyRepository(uow.connection).record(found)
                await uow.commit()
            return len(found)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="console-property-index")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self) -> None:
        # Most passes only write what intake noted; every ``SCAN_EVERY``-th pass (and every search) also looks
        # for messages nobody noted: stored before a restart, or by another broker process that stopped.
        passes = 0
        while True:
            try:
                if passes % SCAN_EVERY == 0:
                    await self.catch_up()
                else:
                    while await self.record_noted():
                        pass
                passes += 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not note_store_outage(exc):
                    log.exception("property-unit indexing failed; retrying")
            await asyncio.sleep(until_tick(self._interval_s))
