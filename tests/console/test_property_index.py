"""The property index takes the units intake read off the document, and reads stored content only for
messages it was not told about."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from broker.config import REPO_XSD_DIR, XmlLimits
from broker.console.property_index import NOTED_MAX, PropertyIndexer
from broker.domain.lifecycle import MessageStatus
from broker.domain.messages import StoredMessage
from broker.domain.property_units import StoredUnits, UnitRef
from broker.store import migrate
from broker.store.engine import create_engine
from broker.store.tables import console_property_units
from broker.store.unit_of_work import UnitOfWork

CONTENT = (REPO_XSD_DIR / "examples" / "pantedokument.xml").read_bytes()  # names 4601-165-412
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def _message() -> StoredMessage:
    return StoredMessage(
        id=str(uuid.uuid4()),
        message_type="pantedokument",
        message_id=str(uuid.uuid4()),
        sender="910000004",
        recipient="930000000",
        sender_reference="SAK-1",
        recipient_reference=None,
        document_created=T0,
        signer_subject="organizationIdentifier=NTRNO-910000004",
        size=len(CONTENT),
        sha256=hashlib.sha256(CONTENT).hexdigest(),
        content=CONTENT,
        status=MessageStatus.ACCEPTED,
        accepted_at=T0,
        expires_at=T0 + timedelta(days=30),
        status_changed_at=T0,
    )


async def _units(engine) -> dict[str, set[str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(console_property_units.c.message_id, console_property_units.c.unit))
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row.message_id, set()).add(row.unit)
    return found


async def test_noted_units_are_indexed_without_reading_content_and_the_rest_from_content(database_url: str) -> None:
    url = database_url
    await migrate.upgrade(url)
    engine = create_engine(url)
    try:
        async with UnitOfWork(engine) as uow:
            noted, unnoted = await uow.messages.add_many([_message(), _message()])
            await uow.commit()
        indexer = PropertyIndexer(engine, XmlLimits())
        # What intake says is taken as is: the content (which names 4601-165-412) is not parsed for it.
        indexer.note([StoredUnits(noted.id, noted.seq or 0, (UnitRef("0301-208-47"),))])

        assert await indexer.catch_up() == 2

        assert await _units(engine) == {noted.id: {"0301-208-47"}, unnoted.id: {"4601-165-412"}}
        assert await indexer.catch_up() == 0
    finally:
        await engine.dispose()


def test_notes_are_bounded_and_the_oldest_go_first(tmp_path) -> None:
    indexer = PropertyIndexer(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}"), XmlLimits())
    indexer.note([StoredUnits(f"m{i}", i, ()) for i in range(NOTED_MAX + 5)])
    assert len(indexer._noted) == NOTED_MAX
    assert "m0" not in indexer._noted and f"m{NOTED_MAX + 4}" in indexer._noted


async def test_noted_messages_are_written_without_a_scan_and_a_scan_finds_the_rest(database_url: str) -> None:
    await migrate.upgrade(database_url)
    engine = create_engine(database_url)
    try:
        async with UnitOfWork(engine) as uow:
            noted, also, unnoted = await uow.messages.add_many([_message(), _message(), _message()])
            await uow.commit()
        indexer = PropertyIndexer(engine, XmlLimits())
        twice = UnitRef("0301-208-47")
        indexer.note([StoredUnits(noted.id, noted.seq or 0, (twice, UnitRef("0301-208-48", 0, 2), twice))])
        indexer.note([StoredUnits(also.id, also.seq or 0, ())])  # names no unit: marked indexed all the same

        assert await indexer.record_noted() == 2
        assert await indexer.record_noted() == 0
        assert await _units(engine) == {noted.id: {"0301-208-47", "0301-208-48"}}  # the third waits for a scan

        assert await indexer.catch_up() == 1
        assert await _units(engine) == {noted.id: {"0301-208-47", "0301-208-48"}, unnoted.id: {"4601-165-412"}}
    finally:
        await engine.dispose()


async def test_two_processes_indexing_the_same_messages_write_them_in_one_order(database_url: str) -> None:
    """Each broker process scans for what nobody noted, so two can index overlapping batches at once; rows
    written in arrival order let each hold a row the other needs (PostgreSQL: "deadlock detected" in the soak).
    Written in key order, whatever order they came in, the second waits for the first instead."""
    from broker.store.console_property_repository import ConsolePropertyRepository, PendingMessage

    await migrate.upgrade(database_url)
    engine = create_engine(database_url)
    written: list[object] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.startswith("INSERT INTO console_"):
            written.append(parameters)

    try:
        async with UnitOfWork(engine) as uow:
            stored = await uow.messages.add_many([_message(), _message(), _message()])
            await uow.commit()
        ids = sorted(m.id for m in stored)
        seq = {m.id: m.seq or 0 for m in stored}
        pending = [PendingMessage(i, seq[i], None) for i in reversed(ids)]
        refs = [UnitRef("0301-208-49"), UnitRef("0301-208-47", 0, 2), UnitRef("0301-208-47")]
        sa.event.listen(engine.sync_engine, "before_cursor_execute", capture)
        async with UnitOfWork(engine) as uow:
            await ConsolePropertyRepository(uow.connection).record([(p, refs) for p in pending])
            await uow.commit()
    finally:
        await engine.dispose()
    units, marks = written
    if isinstance(units, tuple) and isinstance(units[0], list):  # PostgreSQL: one statement of arrays
        rows = list(zip(*units, strict=True))
        marked = list(marks[0])  # type: ignore[index]
    else:  # SQLite: one row each
        rows = [tuple(row) for row in units]  # type: ignore[union-attr]
        marked = [row[0] for row in marks]  # type: ignore[union-attr]
    assert len(rows) == 9 and rows == sorted(rows)
    assert [row[0] for row in rows] == [i for i in ids for _ in range(3)]
    assert marked == ids
