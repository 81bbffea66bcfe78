"""Webhook delivery: every event of a transfer reaches the subscribed receivers as signed CloudEvents, in
order, also after a receiver was down for a while; what keeps failing goes to the dead-letter list."""

from __future__ import annotations

import asyncio
import uuid

from broker.app_keys import WEBHOOKS
from broker.events.altinn_event import AltinnEvent, AltinnEventType, SubjectRole
from broker.events.event_log import append_event, events_of_transfer
from broker.events.webhook_dispatcher import WebhookDispatcher
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.webhook_subscriptions import dead_deliveries, redeliver, subscribe
from tests.events.conftest import OTHER_RECIPIENT, RECIPIENT, SENDER
from tests.events.receiver import Receiver
from tests.http.conftest import Broker
from tests.routing.rows import eventually

PATH = "/events/api/v1/subscriptions"
_LIFECYCLE = [
    (AltinnEventType.FILE_TRANSFER_INITIALIZED, [(SENDER, SubjectRole.SENDER)]),
    (AltinnEventType.UPLOAD_PROCESSING, [(SENDER, SubjectRole.SENDER)]),
    (
        AltinnEventType.PUBLISHED,
        [(SENDER, SubjectRole.SENDER), (RECIPIENT, SubjectRole.RECIPIENT), (OTHER_RECIPIENT, SubjectRole.RECIPIENT)],
    ),
    (AltinnEventType.DOWNLOAD_CONFIRMED, [(SENDER, SubjectRole.SENDER), (RECIPIENT, SubjectRole.RECIPIENT)]),
    (AltinnEventType.DOWNLOAD_CONFIRMED, [(SENDER, SubjectRole.SENDER), (OTHER_RECIPIENT, SubjectRole.RECIPIENT)]),
    (AltinnEventType.ALL_CONFIRMED_DOWNLOADED, [(SENDER, SubjectRole.SENDER)]),
    (AltinnEventType.FILE_PURGED, [(SENDER, SubjectRole.SENDER)]),
]


async def _subscribe(broker: Broker, receiver: Receiver, orgnr: str, path: str, **extra: object) -> None:
    body = {"endPoint": receiver.url(path), "resourceFilter": "kv_dsve", **extra}
    response = await broker.client.post(PATH, json=body, headers=await broker.headers(orgnr))
    assert response.status == 201, await response.text()
    receiver.secrets[path] = (await response.json())["secret"]


async def _transfer(broker: Broker, *, pause_s: float = 0.0) -> str:
    """The events of one transfer's whole life, each appended in a transaction of its own, as the API does."""
    transfer = str(uuid.uuid4())
    for event_type, parties in _LIFECYCLE:
        async with UnitOfWork(broker.services.engine) as uow:
            for party, role in parties:
                await append_event(
                    uow, event_type, resource_id="kv_dsve", file_transfer_id=transfer, party=party, role=role
                )
            await uow.commit()
        await asyncio.sleep(pause_s)
    return transfer


async def _logged(broker: Broker, transfer: str, party: str) -> list[AltinnEvent]:
    async with broker.services.engine.connect() as conn:
        return await events_of_transfer(conn, transfer, party=party)


async def test_receivers_get_every_event_as_cloud_events_also_after_being_down(webhook_broker: Broker) -> None:
    receiver = Receiver()
    await _subscribe(webhook_broker, receiver, SENDER, "/sender")
    await _subscribe(webhook_broker, receiver, RECIPIENT, "/recipient")
    await _subscribe(webhook_broker, receiver, OTHER_RECIPIENT, "/published-only", typeFilter="published")
    await _subscribe(webhook_broker, receiver, RECIPIENT, "/other-resource", resourceFilter="kv_etinglysing")

    # The receiver is down (connections refused) while the transfer goes through its whole life.
    transfer = await _transfer(webhook_broker)
    await asyncio.sleep(0.5)  # several attempts fail meanwhile
    await receiver.up()
    try:
        sender_events = await _logged(webhook_broker, transfer, SENDER)
        recipient_events = await _logged(webhook_broker, transfer, RECIPIENT)

        async def all_delivered() -> bool:
            return len(receiver.events.get("/sender", [])) == len(sender_events) and len(
                receiver.events.get("/recipient", [])
            ) == len(recipient_events)

        await eventually(all_delivered, within=15.0)
        # Down again, then a second transfer: also delivered once it is back (503s count as failures too).
        receiver.failing = True
        second = await _transfer(webhook_broker, pause_s=0.01)
        await eventually(lambda: _true(receiver.refused >= 2), within=10.0)
        receiver.failing = False
        sender_events += await _logged(webhook_broker, second, SENDER)
        recipient_events += await _logged(webhook_broker, second, RECIPIENT)
        await eventually(all_delivered, within=15.0)
        await eventually(lambda: _true(len(receiver.events.get("/published-only", [])) == 2), within=15.0)
    finally:
        await receiver.down()

    for path, expected in (("/sender", sender_events), ("/recipient", recipient_events)):
        got = receiver.events[path]
        # every event exactly once and in order, as the CloudEvent the event log makes of it
        assert [e["id"] for e in got] == [e.id for e in expected]
        assert got == [{**e.cloud_event(), "time": e.time, "data": e.data()} for e in expected]
    assert len(sender_events) == 14 and len(recipient_events) == 4
    only_published = receiver.events["/published-only"]
    assert {e["type"] for e in only_published} == {"no.altinn.broker.published"}
    assert {e["subject"] for e in only_published} == {f"/organisation/{OTHER_RECIPIENT}"}
    assert "/other-resource" not in receiver.events


async def _true(value: bool) -> bool:
    return value


async def test_a_delivery_that_keeps_failing_is_dead_lettered_and_can_be_redelivered(webhook_broker: Broker) -> None:
    services = webhook_broker.services
    await webhook_broker.client.app[WEBHOOKS].stop()  # this test delivers by hand, step by step
    receiver = Receiver()
    await receiver.up()
    receiver.failing = True
    _, secret = await subscribe(services, SENDER, receiver.url("/sender"), "kv_dsve", ["filetransferinitialized"])
    receiver.secrets["/sender"] = secret
    dispatcher = WebhookDispatcher(services.engine, allow_loopback=True, max_attempts=2, retry_base_s=0.0)
    try:
        transfer = await _transfer(webhook_broker)
        while await dispatcher.run_once():
            pass
        dead = await dead_deliveries(services, SENDER)
        assert [d.event.file_transfer_id for d in dead] == [transfer]
        assert dead[0].attempts == 2 and dead[0].last_error == "HTTP 503"
        assert await dead_deliveries(services, RECIPIENT) == []  # scoped to the subscriber
        assert not await redeliver(services, dead[0].id, RECIPIENT)  # not the recipient's to redeliver

        receiver.failing = False
        assert await redeliver(services, dead[0].id, SENDER)
        assert not await redeliver(services, dead[0].id, SENDER)  # no longer dead
        assert await dispatcher.run_once() == 1
        assert await dead_deliveries(services, None) == []
        assert [e["resourceinstance"] for e in receiver.events["/sender"]] == [transfer]
    finally:
        await dispatcher.stop()
        await receiver.down()


async def test_two_broker_processes_never_post_to_one_subscription_at_once(webhook_broker: Broker) -> None:
    services = webhook_broker.services
    receiver = Receiver(delay_s=0.02)
    await receiver.up()
    _, receiver.secrets["/sender"] = await subscribe(services, SENDER, receiver.url("/sender"), "kv_dsve", [])
    # The app's own dispatcher runs too: three "processes" share the store.
    others = [WebhookDispatcher(services.engine, allow_loopback=True, poll_interval_s=0.01) for _ in range(2)]
    for dispatcher in others:
        await dispatcher.start()
    try:
        transfers = [await _transfer(webhook_broker) for _ in range(3)]
        expected = [e.id for t in transfers for e in await _logged(webhook_broker, t, SENDER)]
        await eventually(lambda: _true(len(receiver.webhook_ids.get("/sender", [])) >= len(expected)), within=20.0)
        await asyncio.sleep(0.2)
    finally:
        for dispatcher in others:
            await dispatcher.stop()
        await receiver.down()
    assert receiver.webhook_ids["/sender"] == expected  # each once, in order
    assert receiver.most_in_flight == 1


async def test_a_disabled_participants_webhooks_wait_until_it_is_enabled(webhook_broker: Broker) -> None:
    await webhook_broker.client.app[WEBHOOKS].stop()  # this test's dispatcher alone delivers, pass by pass
    engine = webhook_broker.services.engine
    dispatcher = WebhookDispatcher(engine, allow_loopback=True)
    receiver = Receiver()
    await _subscribe(webhook_broker, receiver, RECIPIENT, "/recipient")
    await receiver.up()
    try:
        async with UnitOfWork(engine) as uow:
            await uow.participants.set_active(RECIPIENT, False)
            await uow.commit()
        transfer = await _transfer(webhook_broker)
        assert await dispatcher.run_once() == 0  # held: not one attempt
        assert receiver.events.get("/recipient", []) == []

        async with UnitOfWork(engine) as uow:
            await uow.participants.set_active(RECIPIENT, True)
            await uow.commit()
        assert await dispatcher.run_once() > 0
        expected = await _logged(webhook_broker, transfer, RECIPIENT)
        assert [e["id"] for e in receiver.events["/recipient"]] == [e.id for e in expected]
    finally:
        await dispatcher.stop()
        await receiver.down()
