"""The relay holds what goes to a disabled participant, and publishes it once the participant is enabled.

Before, a message accepted for a participant that was disabled afterwards (and every receipt for it) was still
published to its queue, where its own AMQP credentials could read it. Held rows are not backlog either: one
disabled participant's pile must not hold back everyone else's submissions through flow control.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.domain.clock import utc_now
from broker.routing.inprocess import InProcessTransport
from broker.routing.relay import OutboxRelay
from broker.store import tables
from tests.routing.rows import BANK, KARTVERKET, MEGLER, broker_engine, outbox_queue, statuses, store_messages


async def _register(engine: AsyncEngine, orgnr: str, active: bool) -> None:
    now = utc_now()
    row = {"role": "megler", "name": orgnr, "certificate_pem": "", "sends": [], "receives": [], "active": active}
    async with engine.begin() as conn:
        updated = await conn.execute(
            sa.update(tables.participants).where(tables.participants.c.orgnr == orgnr).values(active=active)
        )
        if not updated.rowcount:
            await conn.execute(
                sa.insert(tables.participants).values(orgnr=orgnr, created_at=now, updated_at=now, **row)
            )


async def test_rows_for_a_disabled_participant_wait_in_the_outbox_until_it_is_enabled(database_url: str) -> None:
    transport = InProcessTransport()
    await transport.start()
    async with broker_engine(database_url) as engine:
        for orgnr in (MEGLER, KARTVERKET):
            await transport.ensure_participant(orgnr)
        await _register(engine, BANK, True)
        await _register(engine, MEGLER, True)
        held = await store_messages(engine, BANK, MEGLER, count=2)  # accepted while the megler was active
        other = await store_messages(engine, BANK, KARTVERKET)  # no registry row: nothing to hold it by
        await _register(engine, MEGLER, False)
        relay = OutboxRelay(outbox_queue(engine), transport)
        assert await relay.backlog() == 1  # the two held rows are not waiting for the relay

        while await relay.run_once():
            pass
        assert transport.queue_depth("inbox", MEGLER) == 0
        assert transport.queue_depth("inbox", KARTVERKET) == 1
        published = await statuses(engine)
        assert [published[i] for i in held] == ["accepted", "accepted"]
        assert published[other[0]] == "published"

        await _register(engine, MEGLER, True)
        assert await relay.backlog() == 2
        while await relay.run_once():
            pass
        assert transport.queue_depth("inbox", MEGLER) == 2
        assert {(await statuses(engine))[i] for i in held} == {"published"}
        assert await relay.backlog() == 0
        await relay.stop()  # closes the outbox's kept connections
    await transport.close()


async def test_receipts_for_a_disabled_sender_wait_too(database_url: str) -> None:
    transport = InProcessTransport()
    await transport.start()
    async with broker_engine(database_url) as engine:
        for orgnr in (BANK, MEGLER):
            await transport.ensure_participant(orgnr)
            await _register(engine, orgnr, True)
        relay = OutboxRelay(outbox_queue(engine), transport)
        sent = await store_messages(engine, BANK, MEGLER, count=3)
        await _register(engine, BANK, False)  # the sender, after its messages were accepted
        while await relay.run_once():
            pass
        assert transport.queue_depth("inbox", MEGLER) == 3  # the recipient is active: it gets them
        assert {(await statuses(engine))[i] for i in sent} == {"published"}
        assert transport.queue_depth("events", BANK) == 0  # the receipts wait in the outbox
        assert await relay.backlog() == 0

        await _register(engine, BANK, True)
        assert await relay.backlog() == 3
        while await relay.run_once():
            pass
        assert transport.queue_depth("events", BANK) > 0
        assert await relay.backlog() == 0
        await relay.stop()  # closes the outbox's kept connections
    await transport.close()
