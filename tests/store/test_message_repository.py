"""Messages: insert with seq, scoped reads, paging, cases, status moves, expiry and purge."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.domain.lifecycle import MessageStatus
from broker.store.unit_of_work import UnitOfWork
from tests.store.conftest import BANK, KARTVERKET, MEGLER, OTHER_BANK, T0, make_message


async def set_status(
    uow: UnitOfWork,
    id: str,
    status: MessageStatus,
    actor: str,
    detail: str | None = None,
    at: datetime | None = None,
) -> bool:
    """One status move through the store's one place for them; True when the lifecycle allowed it."""
    moved = await uow.statuses.move_one(id, status, actor=actor, at=at or datetime.now(UTC), detail=detail)
    return moved is not None


async def test_add_assigns_increasing_seq_and_round_trips_every_field(engine: AsyncEngine) -> None:
    first, second = make_message(), make_message(recipient_reference="M-7")
    async with UnitOfWork(engine) as uow:
        stored_first = await uow.messages.add(first)
        stored_batch = await uow.messages.add_many([second, make_message(), make_message()])
        await uow.commit()
    seqs = [stored_first.seq] + [m.seq for m in stored_batch]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4 and all(isinstance(s, int) for s in seqs)

    async with UnitOfWork(engine) as uow:
        loaded = await uow.messages.get(second.id)
    assert loaded == dataclasses.replace(second, seq=stored_batch[0].seq)
    assert loaded.accepted_at.tzinfo is not None and loaded.accepted_at.utcoffset() == timedelta(0)


async def test_timestamps_in_other_zones_come_back_as_the_same_instant_in_utc(engine: AsyncEngine) -> None:
    oslo = timezone(timedelta(hours=1))
    message = make_message(accepted_at=datetime(2026, 11, 28, 10, 0, tzinfo=oslo))
    async with UnitOfWork(engine) as uow:
        await uow.messages.add(message)
        await uow.commit()
        loaded = await uow.messages.get(message.id)
    assert loaded.accepted_at == T0 and loaded.accepted_at.tzinfo == UTC


async def test_no_commit_means_nothing_kept(engine: AsyncEngine) -> None:
    message = make_message()
    async with UnitOfWork(engine) as uow:
        await uow.messages.add(message)
    async with UnitOfWork(engine) as uow:
        assert await uow.messages.get(message.id) is None


async def test_get_visible_is_scoped_to_sender_and_recipient(engine: AsyncEngine) -> None:
    message = make_message(BANK, MEGLER)
    async with UnitOfWork(engine) as uow:
        await uow.messages.add(message)
        await uow.commit()
        assert (await uow.messages.get_visible(message.id, BANK)).content == message.content
        assert (await uow.messages.get_visible(message.id, MEGLER)).id == message.id
        assert await uow.messages.get_visible(message.id, OTHER_BANK) is None
        assert await uow.messages.get_visible("no-such-id", BANK) is None
        assert (await uow.messages.get_visible(message.id, MEGLER, with_content=False)).content is None


async def test_sender_message_id_is_unique_per_sender(engine: AsyncEngine) -> None:
    message = make_message(BANK, MEGLER, message_id="7d0c1a8e-0000-4000-8000-000000000001")
    async with UnitOfWork(engine) as uow:
        await uow.messages.add(message)
        await uow.messages.add(make_message(OTHER_BANK, MEGLER, message_id=message.message_id))
        await uow.commit()
        found = await uow.messages.find_by_sender_message_id(BANK, message.message_id)
        assert found.id == message.id and found.sha256 == message.sha256
        assert await uow.messages.find_by_sender_message_id(MEGLER, message.message_id) is None
        with pytest.raises(IntegrityError):
            await uow.messages.add(make_message(BANK, MEGLER, message_id=message.message_id))


async def test_list_for_filters_and_pages_on_seq(engine: AsyncEngine) -> None:
    async with UnitOfWork(engine) as uow:
        inbox = await uow.messages.add_many(
            [make_message(BANK, MEGLER, accepted_at=T0 + timedelta(minutes=i)) for i in range(5)]
        )
        other = await uow.messages.add(
            make_message(BANK, MEGLER, message_type="pantedokument", sender_reference="SAK-2")
        )
        await uow.messages.add(make_message(OTHER_BANK, KARTVERKET))
        await uow.messages.add(make_message(MEGLER, BANK, sender_reference="M-1", recipient_reference="SAK-1"))
        await uow.commit()
        everything = await uow.messages.list_for(MEGLER, "inbox")
        assert [m.id for m in everything] == [m.id for m in [*inbox, other]]
        assert all(m.content is None for m in everything)

        page1 = await uow.messages.list_for(MEGLER, "inbox", limit=2)
        page2 = await uow.messages.list_for(MEGLER, "inbox", after_seq=page1[-1].seq, limit=2)
        assert [m.id for m in page1 + page2] == [m.id for m in inbox[:4]]

        assert [m.id for m in await uow.messages.list_for(MEGLER, "inbox", message_type="pantedokument")] == [other.id]
        assert len(await uow.messages.list_for(MEGLER, "inbox", reference="SAK-1")) == 5
        assert len(await uow.messages.list_for(MEGLER, "inbox", since=T0 + timedelta(minutes=3))) == 2
        assert len(await uow.messages.list_for(MEGLER, "outbox")) == 1
        assert await uow.messages.list_for(KARTVERKET, "outbox") == []
        await set_status(uow, other.id, MessageStatus.PUBLISHED, "relay")
        assert [m.id for m in await uow.messages.list_for(MEGLER, "inbox", status=MessageStatus.PUBLISHED)] == [
            other.id
        ]
        with pytest.raises(ValueError):
            await uow.messages.list_for(MEGLER, "sideways")  # type: ignore[arg-type]


async def test_case_messages_join_both_directions_for_the_parties_only(engine: AsyncEngine) -> None:
    async with UnitOfWork(engine) as uow:
        request = await uow.messages.add(make_message(BANK, MEGLER, sender_reference="BANK-9"))
        reply = await uow.messages.add(
            make_message(MEGLER, BANK, sender_reference="MEGLER-3", recipient_reference="BANK-9")
        )
        await uow.messages.add(make_message(OTHER_BANK, MEGLER, sender_reference="OTHER"))
        await uow.commit()
        assert [m.id for m in await uow.messages.case_messages("BANK-9", BANK)] == [request.id, reply.id]
        assert [m.id for m in await uow.messages.case_messages("BANK-9", MEGLER)] == [request.id, reply.id]
        assert await uow.messages.case_messages("BANK-9", OTHER_BANK) == []


async def test_set_status_follows_the_lifecycle_and_records_history(engine: AsyncEngine) -> None:
    message = make_message()
    later = T0 + timedelta(hours=1)
    async with UnitOfWork(engine) as uow:
        await uow.messages.add(message)
        assert await set_status(uow, message.id, MessageStatus.PUBLISHED, "relay", at=later)
        assert await set_status(uow, message.id, MessageStatus.CONFIRMED, MEGLER, detail="handled")
        assert not await set_status(uow, message.id, MessageStatus.PUBLISHED, "relay")  # backwards
        assert not await set_status(uow, message.id, MessageStatus.CONFIRMED, MEGLER)  # repeat
        assert not await set_status(uow, "no-such-id", MessageStatus.PUBLISHED, "relay")
        await uow.commit()
        loaded = await uow.messages.get(message.id)
        history = await uow.history.for_message(message.id)
    assert loaded.status is MessageStatus.CONFIRMED and loaded.status_changed_at > later
    assert [(h.status, h.actor, h.detail) for h in history] == [
        (MessageStatus.ACCEPTED, BANK, None),
        (MessageStatus.PUBLISHED, "relay", None),
        (MessageStatus.CONFIRMED, MEGLER, "handled"),
    ]
    assert history[0].at == T0 and history[1].at == later


async def test_concurrent_moves_of_one_message_succeed_once(engine: AsyncEngine, database_url: str) -> None:
    message = make_message()
    async with UnitOfWork(engine) as uow:
        await uow.messages.add(message)
        await uow.commit()

    async def confirm() -> bool:
        async with UnitOfWork(engine) as uow:
            moved = await set_status(uow, message.id, MessageStatus.CONFIRMED, MEGLER)
            await uow.commit()
            return moved

    results = await asyncio.gather(*(confirm() for _ in range(8)))
    assert results.count(True) == 1
    async with UnitOfWork(engine) as uow:
        history = await uow.history.for_message(message.id)
    assert [h.status for h in history] == [MessageStatus.ACCEPTED, MessageStatus.CONFIRMED]


async def test_expire_and_purge_due(engine: AsyncEngine) -> None:
    short = make_message(ttl=timedelta(days=1))
    published = make_message(ttl=timedelta(days=1))
    confirmed = make_message(ttl=timedelta(days=1))
    long = make_message(ttl=timedelta(days=30))
    now = T0 + timedelta(days=2)
    async with UnitOfWork(engine) as uow:
        await uow.messages.add_many([short, published, confirmed, long])
        await set_status(uow, published.id, MessageStatus.PUBLISHED, "relay", at=T0)
        await set_status(uow, confirmed.id, MessageStatus.CONFIRMED, MEGLER, at=T0)
        assert sorted(m.message_id for m in await uow.statuses.expire_due(now)) == sorted([short.id, published.id])
        assert await uow.statuses.expire_due(now) == []
        await uow.commit()

        assert [m.message_id for m in await uow.statuses.purge_due(T0 + timedelta(days=1), now)] == [confirmed.id]
        purged = sorted(m.message_id for m in await uow.statuses.purge_due(now, now + timedelta(seconds=1)))
        assert purged == sorted([short.id, published.id])
        await uow.commit()

        for message in (short, published, confirmed):
            loaded = await uow.messages.get(message.id)
            assert loaded.status is MessageStatus.PURGED and loaded.content is None
            assert loaded.sha256 == message.sha256
        assert (await uow.messages.get(long.id)).status is MessageStatus.ACCEPTED
        history = await uow.history.for_message(published.id)
    assert [(h.status, h.actor) for h in history] == [
        (MessageStatus.ACCEPTED, BANK),
        (MessageStatus.PUBLISHED, "relay"),
        (MessageStatus.EXPIRED, "broker"),
        (MessageStatus.PURGED, "broker"),
    ]
    assert history[2].at == now


async def test_a_purge_by_status_deletes_the_content(engine: AsyncEngine) -> None:
    message = make_message()
    async with UnitOfWork(engine) as uow:
        await uow.messages.add(message)
        assert await set_status(uow, message.id, MessageStatus.CONFIRMED, MEGLER)
        assert await set_status(uow, message.id, MessageStatus.PURGED, "broker")
        assert (await uow.messages.get(message.id)).content is None


async def test_seq_stays_unique_across_concurrent_writers(engine: AsyncEngine) -> None:
    async def write(n: int) -> list[int]:
        async with UnitOfWork(engine) as uow:
            stored = await uow.messages.add_many([make_message() for _ in range(n)])
            await uow.commit()
            return [m.seq for m in stored]

    seqs = [s for batch in await asyncio.gather(*(write(3) for _ in range(10))) for s in batch]
    assert len(set(seqs)) == 30
    async with UnitOfWork(engine) as uow:
        listed = await uow.messages.list_for(MEGLER, "inbox", limit=1000)
    assert sorted(seqs) == [m.seq for m in listed]


def test_stored_as_copies_every_field_and_sets_only_the_seq() -> None:
    message = dataclasses.replace(make_message(), recipient_reference="REF-R")
    assert message.stored_as(42) == dataclasses.replace(message, seq=42)
    assert all(getattr(message, f.name) is not None for f in dataclasses.fields(message) if f.name != "seq")
