"""Participants, token ids, the outbox and the history."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.domain.lifecycle import MessageStatus
from broker.domain.participants import Participant
from broker.domain.roles import Role
from broker.store.outbox_kind import OutboxKind
from broker.store.outbox_repository import OutboxEntry
from broker.store.tables import outbox, status_history
from broker.store.unit_of_work import UnitOfWork
from tests.store.conftest import BANK, MEGLER, OTHER_BANK, T0, make_message

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def bank(orgnr: str = BANK, name: str = "Nordlys Sparebank", **changes: object) -> Participant:
    values: dict[str, object] = {
        "orgnr": orgnr,
        "role": Role.BANK,
        "name": name,
        "certificate_pem": PEM,
        "sends": frozenset({"intensjonFraBank", "pantedokument"}),
        "receives": frozenset({"intensjonssvarFraMegler"}),
    }
    values.update(changes)
    return Participant(**values)  # type: ignore[arg-type]


async def test_participants_upsert_get_list_and_activate(engine: AsyncEngine) -> None:
    async with UnitOfWork(engine) as uow:
        await uow.participants.upsert(bank(OTHER_BANK, "Fjellkysten Bank ASA"))
        await uow.participants.upsert(bank())
        await uow.participants.upsert(bank(name="Nordlys Sparebank ASA", sends=frozenset({"pantedokument"})))
        await uow.commit()
        assert await uow.participants.get(BANK) == bank(
            name="Nordlys Sparebank ASA", sends=frozenset({"pantedokument"})
        )
        assert [p.orgnr for p in await uow.participants.list()] == [BANK, OTHER_BANK]
        assert await uow.participants.get(MEGLER) is None

        assert await uow.participants.set_active(BANK, False)
        assert not await uow.participants.set_active(MEGLER, False)
        await uow.commit()
        disabled = await uow.participants.get(BANK)
        assert not disabled.active and not disabled.can_send("pantedokument")
        assert await uow.participants.set_active(BANK, True)
        assert (await uow.participants.get(BANK)).active


async def test_token_id_is_used_once(engine: AsyncEngine) -> None:
    expires = datetime.now(UTC) + timedelta(minutes=2)
    async with UnitOfWork(engine) as uow:
        assert await uow.token_ids.use_once("jti-1", BANK, expires)
        assert not await uow.token_ids.use_once("jti-1", BANK, expires)
        assert await uow.token_ids.use_once("jti-2", BANK, expires - timedelta(minutes=5))
        await uow.commit()
    async with UnitOfWork(engine) as uow:
        assert not await uow.token_ids.use_once("jti-1", OTHER_BANK, expires)
        assert await uow.token_ids.delete_expired(datetime.now(UTC)) == 1
        assert await uow.token_ids.use_once("jti-2", BANK, expires)


async def test_an_uncommitted_token_id_does_not_count(engine: AsyncEngine) -> None:
    expires = datetime.now(UTC) + timedelta(minutes=2)
    async with UnitOfWork(engine) as uow:
        assert await uow.token_ids.use_once("jti-rolled-back", BANK, expires)
    async with UnitOfWork(engine) as uow:
        assert await uow.token_ids.use_once("jti-rolled-back", BANK, expires)


async def test_concurrent_use_of_one_token_id_lets_exactly_one_through(engine: AsyncEngine) -> None:
    expires = datetime.now(UTC) + timedelta(minutes=2)
    start = asyncio.Event()

    async def use() -> bool:
        async with UnitOfWork(engine) as uow:
            await start.wait()
            used = await uow.token_ids.use_once("jti-raced", BANK, expires)
            await uow.commit()
            return used

    tasks = [asyncio.create_task(use()) for _ in range(20)]
    await asyncio.sleep(0.05)
    start.set()
    assert (await asyncio.gather(*tasks)).count(True) == 1


async def test_outbox_rows_commit_with_the_message(engine: AsyncEngine) -> None:
    message = make_message()
    async with UnitOfWork(engine) as uow:
        await uow.messages.add(message)
        await uow.outbox.add_many(
            [OutboxEntry(OutboxKind.MESSAGE, message.id, f"{MEGLER}.intensjonFraBank", {"sender": BANK})]
        )
        accepted = OutboxEntry(OutboxKind.EVENT, message.id, f"{BANK}.accepted", {}, b'{"status": "accepted"}')
        await uow.outbox.add_many([accepted])
        await uow.outbox.add_many(
            [
                OutboxEntry(OutboxKind.EVENT, message.id, f"{BANK}.published"),
                OutboxEntry(OutboxKind.EVENT, message.id, f"{BANK}.x"),
            ]
        )
        await uow.outbox.add_many([])
        with pytest.raises(ValueError):
            await uow.outbox.add_many([OutboxEntry("letter", message.id, "x", {})])  # type: ignore[arg-type]
        await uow.commit()
        rows = (await uow.connection.execute(sa.select(outbox).order_by(outbox.c.id))).all()
    assert [(r.kind, r.routing_key, r.headers, r.body, r.attempts, r.lease_until) for r in rows] == [
        ("message", f"{MEGLER}.intensjonFraBank", {"sender": BANK}, None, 0, None),
        ("event", f"{BANK}.accepted", {}, b'{"status": "accepted"}', 0, None),
        ("event", f"{BANK}.published", {}, None, 0, None),
        ("event", f"{BANK}.x", {}, None, 0, None),
    ]
    assert all(r.created_at.tzinfo is not None for r in rows)


async def test_history_is_append_only_and_read_in_the_order_things_happened(engine: AsyncEngine) -> None:
    message = make_message()
    async with UnitOfWork(engine) as uow:
        await uow.messages.add(message)
        # The recipient downloaded before the relay recorded the publish confirm that preceded the download:
        # rows are written in that order, and read in the order the steps happened (by time, then along the
        # main line when the times are equal).
        later = T0 + timedelta(seconds=2)
        await uow.history.append(message.id, MessageStatus.DOWNLOADED, MEGLER, None, later)
        await uow.history.append(message.id, MessageStatus.PUBLISHED, "relay", "confirmed by RabbitMQ", later)
        await uow.commit()
        entries = await uow.history.for_message(message.id)
        assert [(e.status, e.actor, e.detail) for e in entries] == [
            (MessageStatus.ACCEPTED, BANK, None),
            (MessageStatus.PUBLISHED, "relay", "confirmed by RabbitMQ"),
            (MessageStatus.DOWNLOADED, MEGLER, None),
        ]
        assert await uow.history.for_message("no-such-id") == []
        count = (await uow.connection.execute(sa.select(sa.func.count()).select_from(status_history))).scalar_one()
        assert count == 3
