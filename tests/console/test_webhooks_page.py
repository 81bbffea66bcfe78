"""The console's webhook dead-letter list: scoped to the viewer's organisation, with re-delivery."""

from __future__ import annotations

import socket
import uuid
from datetime import UTC, datetime

from broker.app_keys import WEBHOOKS
from broker.events.altinn_event import AltinnEventType, SubjectRole
from broker.events.event_log import append_event
from broker.events.webhook_dispatcher import WebhookDispatcher
from broker.events.webhooks import DeliveryStatus, WebhookSubscription
from broker.store.unit_of_work import UnitOfWork
from broker.store.webhook_repository import WebhookRepository
from tests.console.conftest import BANK_STAFF, OPERATOR, ConsoleBroker, csrf_token, sign_in
from tests.http.conftest import BANK, BANK_2


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens there once the socket is closed


async def _dead_deliveries(console_broker: ConsoleBroker) -> dict[str, str]:
    """One dead delivery for each bank; returns orgnr → transfer id."""
    services = console_broker.services
    await console_broker.client.app[WEBHOOKS].stop()  # delivered by hand below, one attempt each
    endpoint = f"http://127.0.0.1:{_closed_port()}/hook"
    transfers = {}
    async with UnitOfWork(services.engine) as uow:
        for orgnr in (BANK, BANK_2):
            subscription = WebhookSubscription(
                str(uuid.uuid4()), orgnr, "kv_dsve", frozenset(), endpoint, datetime.now(UTC)
            )
            await WebhookRepository(uow.connection).add(subscription, "whsec_" + "QUJD" * 8)
            transfers[orgnr] = str(uuid.uuid4())
            await append_event(
                uow,
                AltinnEventType.PUBLISHED,
                resource_id="kv_dsve",
                file_transfer_id=transfers[orgnr],
                party=orgnr,
                role=SubjectRole.RECIPIENT,
            )
        await uow.commit()
    dispatcher = WebhookDispatcher(services.engine, allow_loopback=True, max_attempts=1)
    try:
        while await dispatcher.run_once():
            pass
    finally:
        await dispatcher.stop()
    return transfers


async def test_webhook_dead_letters_are_scoped_and_can_be_redelivered(console_broker: ConsoleBroker) -> None:
    transfers = await _dead_deliveries(console_broker)
    client = console_broker.client

    assert (await sign_in(client, BANK_STAFF)).status == 303
    page = await client.get("/console/webhooks")
    html = await page.text()
    assert page.status == 200
    assert transfers[BANK] in html and transfers[BANK_2] not in html
    assert "ClientConnectorError" in html or "Connect" in html  # why it failed

    async with UnitOfWork(console_broker.services.engine) as uow:
        dead = await WebhookRepository(uow.connection).deliveries(DeliveryStatus.DEAD)
    ids = {d.party: d.id for d in dead}
    token = csrf_token(html)
    others = await client.post(f"/console/webhooks/{ids[BANK_2]}/redeliver", data={"csrf_token": token})
    assert others.status == 404  # another organisation's: not found
    no_token = await client.post(f"/console/webhooks/{ids[BANK]}/redeliver", data={})
    assert no_token.status in (400, 403)
    own = await client.post(
        f"/console/webhooks/{ids[BANK]}/redeliver", data={"csrf_token": token}, allow_redirects=False
    )
    assert own.status == 303 and own.headers["Location"] == f"/console/webhooks?done={ids[BANK]}"
    assert transfers[BANK] not in await (await client.get("/console/webhooks")).text()

    await client.post("/console/logout", data={"csrf_token": token})
    assert (await sign_in(client, OPERATOR)).status == 303
    html = await (await client.get("/console/webhooks")).text()
    assert transfers[BANK_2] in html and transfers[BANK] not in html  # the operator sees every party's
