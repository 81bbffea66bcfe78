"""Status moves: never backwards, and a step a fast recipient overtook is still recorded."""

from __future__ import annotations

import sqlalchemy as sa

from broker.domain.clock import utc_now
from broker.domain.lifecycle import MessageStatus
from broker.store import tables
from broker.store.status_moves import RELAY_ACTOR, StatusMoves
from tests.routing.rows import BANK, MEGLER, broker_engine, history, statuses, store_messages

FROM_ACCEPTED = frozenset({MessageStatus.ACCEPTED})


async def _receipts(engine, message_id: str) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(tables.outbox.c.routing_key).where(
                tables.outbox.c.message_id == message_id, tables.outbox.c.kind == "event"
            )
        )
    return [row.routing_key for row in rows]


async def test_a_publish_confirm_after_the_download_is_recorded_once_without_moving_back(database_url: str) -> None:
    async with broker_engine(database_url) as engine:
        [message_id] = await store_messages(engine, BANK, MEGLER)
        async with engine.begin() as conn:  # the recipient polled over HTTP and downloaded it first
            await StatusMoves(conn).move([message_id], MessageStatus.DOWNLOADED, actor=MEGLER, at=utc_now())
        for _ in range(2):  # the relay's confirm arrives (and a second settle must change nothing)
            async with engine.begin() as conn:
                moved = await StatusMoves(conn).move(
                    [message_id], MessageStatus.PUBLISHED, actor=RELAY_ACTOR, at=utc_now(), only_from=FROM_ACCEPTED
                )
            assert moved == []
        assert (await statuses(engine))[message_id] == "downloaded"
        # Shown in the order it happened: the publish (dated no later than the download) before the download.
        assert [status for status, _ in await history(engine, message_id)] == ["published", "downloaded"]
        assert await _receipts(engine, message_id) == [f"{BANK}.downloaded", f"{BANK}.published"]


async def test_a_normal_publish_moves_the_status_and_sends_one_receipt(database_url: str) -> None:
    async with broker_engine(database_url) as engine:
        [message_id] = await store_messages(engine, BANK, MEGLER)
        async with engine.begin() as conn:
            moved = await StatusMoves(conn).move(
                [message_id], MessageStatus.PUBLISHED, actor=RELAY_ACTOR, at=utc_now(), only_from=FROM_ACCEPTED
            )
        assert [m.message_id for m in moved] == [message_id]
        assert (await statuses(engine))[message_id] == "published"
        assert await _receipts(engine, message_id) == [f"{BANK}.published"]
