"""The participant registry, cached between group-commit batches and kept true by PostgreSQL notifications.

Every group-commit batch read the registry: on a lightly loaded broker, where a batch holds one message,
that was one of its two round trips to the database per message. Participants change seldom (an operator
registers, replaces a certificate, deactivates), so each broker process now keeps what it read, and a
trigger (migration 0005) notifies the channel ``dsve_participants`` on every change to the table, from
the changing transaction, so every process hears of it when that transaction commits and clears its copy.

The cache answers only while its listening connection is up. When the connection is lost it clears
itself and every lookup reads the store until it listens again. A notification that arrives while a read
is in flight keeps that read out of the cache, so an older read never hides a newer change. A submission
checked in the moment between a change's commit and its notification is one that raced the change, which
the uncached read did not prevent either.

SQLite (the embedded default) has no notifications. There the cache answers after reading the registry's
change counter (``registry_version.py``): one trip instead of a statement through the engine, for the
caller check of every authenticated request (``lookup_current``) and the parties of every group-commit
batch (``get_many``). A change committed between that read and the batch's commit raced the batch, as a
change between a notification's sending and its arrival does on PostgreSQL. A batch of submissions needs no
read of its own (``after_caller_check``): its store confirms the counter instead, read in the same trip
under SQLite's write lock, and stores nothing when it moved (``store_version``, ``RegistryMoved``). So a
submission's caller check needs no read either while the cache knows the caller
(``lookup_confirmed_at_store``): a lone submission's store is its only trip to the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from broker.domain.file_transfers import ResourceSettings
from broker.domain.participants import Participant
from broker.periodic import cancel_and_wait
from broker.store.engine import SQLITE_BUSY_TIMEOUT_MS, sqlite_file
from broker.store.outages import note_store_outage
from broker.store.participant_repository import ParticipantRepository
from broker.store.registry_version import RegistryVersion
from broker.store.resource_repository import ResourceRepository

log = logging.getLogger(__name__)

CHANNEL = "dsve_participants"
MAX_ENTRIES = 10_000  # orgnrs remembered, unknown ones included; past this the cache starts over


class _Notifications(Protocol):
    """What the cache uses of an asyncpg connection: its notification listeners."""

    def add_termination_listener(self, callback: Callable[[object], None]) -> None: ...

    async def add_listener(self, channel: str, callback: Callable[..., None]) -> None: ...

    async def remove_listener(self, channel: str, callback: Callable[..., None]) -> None: ...


class RegistryCache:
    def __init__(self, engine: AsyncEngine, *, retry_s: float = 1.0) -> None:
        self._engine = engine
        self._retry_s = retry_s
        self._entries: dict[str, Participant | None] = {}
        # File-transfer resources (settings and access lists), kept on the same terms: their tables notify
        # the same channel (migration 0014).
        self._resources: dict[str, ResourceSettings | None] = {}
        self._generation = 0
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.hits = 0
        self.reads = 0
        self._version = _version_reader(engine)
        self._seen_version: int | None = None
        self._version_known = False  # the latest read of the counter succeeded and found the row

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    async def start(self, wait_s: float = 5.0) -> None:
        """Listen for changes (PostgreSQL only); wait a moment for the first listen so caching starts at once."""
        if self._engine.dialect.name != "postgresql" or self._task is not None:
            return
        self._task = asyncio.get_running_loop().create_task(self._listen(), name="registry cache")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), wait_s)

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        if self._version is not None:
            await self._version.close()
        self._forget()

    async def lookup_current(self, orgnr: str, read: Callable[[], Awaitable[Participant | None]]) -> Participant | None:
        """The participant ``orgnr`` as the store holds it now: from the cache when the cache is known to be
        current (PostgreSQL: listening; SQLite: the change counter has not moved), else ``read()``."""
        trusted = await self._current()
        if trusted and orgnr in self._entries:
            self.hits += 1
            return self._entries[orgnr]
        generation = self._generation
        self.reads += 1
        participant = await read()
        # A change after the counter was read makes the next lookup see a new number and start over.
        if trusted and generation == self._generation:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[orgnr] = participant
        return participant

    async def lookup_confirmed_at_store(
        self, orgnr: str, read: Callable[[], Awaitable[Participant | None]]
    ) -> Participant | None:
        """``lookup_current`` for a request whose store confirms the registry afterwards (a submission on
        SQLite: ``store_version``): an answer the cache holds needs no read of the counter now.

        Only an active participant is taken from the cache so: the store confirms what lets a request
        through, and a participant disabled since the counter was last read is refused there (the sender is
        the caller, and the store applies the registry rules) instead of before its body is read. A refusal
        here stands alone, so it is answered as ``lookup_current`` answers (one enabled again is let in)."""
        cached = self._entries.get(orgnr)
        if self._version is not None and self._version_known and cached is not None and cached.active:
            self.hits += 1
            return cached
        return await self.lookup_current(orgnr, read)

    def store_version(self) -> int | None:
        """The change counter the cached answers stand for, for the store to confirm under its write lock
        (``MessageRepository.add_new``); None where nothing is to be confirmed (PostgreSQL, whose
        notifications keep the cache, or a counter not known)."""
        return self._seen_version if self._version is not None and self._version_known else None

    async def moved_since(self, version: int) -> bool:
        """Read the counter now: whether it is no longer ``version`` (or cannot be read). For a batch whose
        store made no trip to confirm it in."""
        return not await self._current() or self._seen_version != version

    async def refresh(self) -> None:
        """Read the counter now, forgetting the answers it no longer stands for: the store found it moved."""
        await self._current()

    async def _current(self) -> bool:
        if self._version is None:
            return self.listening
        try:
            version = await self._version.read()
        except Exception as exc:
            self._version_known = False
            if not note_store_outage(exc):
                log.warning("registry cache: cannot read the registry's change counter; reading the store")
            self._forget()
            return False
        self._version_known = version is not None
        if version is None:
            return False
        if version != self._seen_version:
            self._forget()
            self._seen_version = version
        return True

    def peek(self, orgnr: str) -> tuple[bool, Participant | None]:
        """``(True, participant or None)`` when the cache knows the answer for ``orgnr``; ``(False, None)``
        when only the store does (not listening, or not read since the last change)."""
        if not self.listening or orgnr not in self._entries:
            return False, None
        self.hits += 1
        return True, self._entries[orgnr]

    async def get_many(
        self, repository: ParticipantRepository, orgnrs: Iterable[str], *, after_caller_check: bool = False
    ) -> dict[str, Participant]:
        """The registered participants among ``orgnrs``: from the cache, reading only what it lacks.

        ``after_caller_check``: every request this lookup serves had its caller checked (``lookup_current``)
        after it arrived; on SQLite the latest read of the change counter then stands for this lookup too."""
        wanted = set(orgnrs)
        # SQLite: current while the change counter has not moved (one trip, where the participants' read was
        # a statement through the engine on every group commit).
        if self._version is not None and after_caller_check and self._version_known:
            trusted = True
        else:
            trusted = self.listening or (self._version is not None and await self._current())
        if not trusted:
            self.reads += 1
            return await repository.get_many(wanted)
        generation = self._generation
        known = {orgnr: self._entries[orgnr] for orgnr in wanted if orgnr in self._entries}
        missing = wanted - known.keys()
        if not missing:
            self.hits += 1
            return {orgnr: p for orgnr, p in known.items() if p is not None}
        self.reads += 1
        found = await repository.get_many(missing)
        if generation == self._generation and (self.listening or self._version is not None):
            if len(self._entries) + len(missing) > MAX_ENTRIES:
                self._entries.clear()
            self._entries.update({orgnr: found.get(orgnr) for orgnr in missing})
        elif known:  # changed meanwhile: what the cache held may be stale too
            return await repository.get_many(wanted)
        return {**{o: p for o, p in known.items() if p is not None}, **found}

    async def resource(self, repository: ResourceRepository, resource_id: str) -> ResourceSettings | None:
        """A resource's settings and access list: from the cache while listening, else read."""
        if self.listening and resource_id in self._resources:
            self.hits += 1
            return self._resources[resource_id]
        generation = self._generation
        self.reads += 1
        found = await repository.get(resource_id)
        if generation == self._generation and self.listening:
            if len(self._resources) >= MAX_ENTRIES:
                self._resources.clear()
            self._resources[resource_id] = found
        return found

    def changed(self) -> None:
        """This process changed the registry: forget at once rather than when the notification arrives."""
        self._forget()

    def _changed(self, *_: object) -> None:
        self._forget()

    def _forget(self) -> None:
        self._generation += 1
        self._entries.clear()
        self._resources.clear()

    async def _listen(self) -> None:
        while True:
            try:
                await self._listen_once()
                log.warning("registry cache: the listening connection was lost; reading the store until it is back")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not note_store_outage(exc):
                    log.warning("registry cache: cannot listen for changes; reading the store", exc_info=True)
            await asyncio.sleep(self._retry_s)

    async def _listen_once(self) -> None:
        """Listen on a connection of the engine's (asyncpg) until that connection ends."""
        lost = asyncio.Event()
        async with self._engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver: _Notifications | None = raw.driver_connection
            if driver is None:
                raise RuntimeError("the engine's connection has no driver connection")
            driver.add_termination_listener(lambda _: lost.set())
            await driver.add_listener(CHANNEL, self._changed)
            self._forget()  # whatever changed before the listen is not known here
            self._listening.set()
            try:
                await lost.wait()
            finally:
                self._listening.clear()
                self._forget()
                with contextlib.suppress(Exception):
                    await driver.remove_listener(CHANNEL, self._changed)


def _version_reader(engine: AsyncEngine) -> RegistryVersion | None:
    """A reader of the change counter for an SQLite file; None for PostgreSQL and in-memory SQLite (whose
    database another connection cannot see)."""
    database = sqlite_file(engine.url)
    return None if database is None else RegistryVersion(database, SQLITE_BUSY_TIMEOUT_MS / 1000)
