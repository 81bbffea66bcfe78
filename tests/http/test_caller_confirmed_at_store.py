"""On SQLite a submission's caller check reads no registry counter once the caller is cached; its store does.

The store reads the registry's change counter in its own trip, under SQLite's write lock, and stores
nothing when the counter moved since the cached answers the parties were checked against: the writer
reads the registry again and stores again, so every answer is the one the registry as it commits gives.
The registry is changed as ``dsve participants`` changes it: through a connection of its own.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from broker.store.registry_cache import RegistryCache
from broker.store.registry_version import RegistryVersion
from tests.http.conftest import BANK, BANK_2, MEGLER, Broker, set_active_elsewhere


def _url(broker: Broker) -> str:
    return str(broker.services.settings.effective_database_url)


def _counter_reads(broker: Broker) -> int:
    registry = broker.services.registry
    assert isinstance(registry, RegistryCache)
    version = registry._version
    assert isinstance(version, RegistryVersion)  # a file, so the counter is read
    return version.reads


async def _stored(broker: Broker) -> int:
    async with broker.services.engine.connect() as conn:
        return int((await conn.execute(sa.text("SELECT count(*) FROM messages"))).scalar_one())


async def _problem(response: Any) -> tuple[int, str, str]:
    body = await response.json()
    return response.status, body["type"].rsplit("/", 1)[-1], body["detail"]


async def test_a_known_caller_submits_without_a_read_of_the_counter(sqlite_broker: Broker) -> None:
    first = await sqlite_broker.send(BANK, sqlite_broker.signed("intensjonFraBank"))
    assert first.status == 201, await first.text()
    reads = _counter_reads(sqlite_broker)
    for _ in range(3):
        sent = await sqlite_broker.send(BANK, sqlite_broker.signed("intensjonFraBank"))
        assert sent.status == 201, await sent.text()
    assert _counter_reads(sqlite_broker) == reads  # the store's trip confirmed it each time
    inbox = await sqlite_broker.client.get("/api/v1/messages", headers=await sqlite_broker.headers(MEGLER))
    assert inbox.status == 200
    assert _counter_reads(sqlite_broker) == reads + 1  # a read's caller check still reads it


async def test_a_sender_disabled_elsewhere_is_refused_by_the_store(sqlite_broker: Broker) -> None:
    headers = await sqlite_broker.headers(BANK, **{"Content-Type": "application/xml"})  # a token held

    async def send() -> Any:
        return await sqlite_broker.client.post(
            "/api/v1/messages", data=sqlite_broker.signed("intensjonFraBank"), headers=headers
        )

    assert (await send()).status == 201
    await set_active_elsewhere(_url(sqlite_broker), BANK, False)

    refused = await send()
    assert await _problem(refused) == (422, "participant-inactive", f"the sender {BANK} is not active")
    assert await _stored(sqlite_broker) == 1
    again = await send()  # the cache knows now: refused before its body is read
    assert (again.status, (await again.json())["type"].rsplit("/", 1)[-1]) == (401, "token-invalid")

    await set_active_elsewhere(_url(sqlite_broker), BANK, True)
    assert (await sqlite_broker.send(BANK, sqlite_broker.signed("intensjonFraBank"))).status == 201
    assert await _stored(sqlite_broker) == 2


async def test_a_recipient_changed_elsewhere_is_seen_whichever_way_it_changed(sqlite_broker: Broker) -> None:
    assert (await sqlite_broker.send(BANK, sqlite_broker.signed("intensjonFraBank"))).status == 201
    await set_active_elsewhere(_url(sqlite_broker), MEGLER, False)
    refused = await sqlite_broker.send(BANK, sqlite_broker.signed("intensjonFraBank"))
    assert await _problem(refused) == (422, "participant-inactive", f"the recipient {MEGLER} is not active")

    # The cache now holds the recipient as inactive: a batch it refuses whole makes no store trip, so the
    # refusal is confirmed by a read of the counter of its own, which finds the recipient enabled again.
    await set_active_elsewhere(_url(sqlite_broker), MEGLER, True)
    sent = await sqlite_broker.send(BANK, sqlite_broker.signed("intensjonFraBank"))
    assert sent.status == 201, await sent.text()
    assert await _stored(sqlite_broker) == 2


async def test_a_change_to_a_third_party_costs_one_read_and_stores_the_batch(sqlite_broker: Broker) -> None:
    assert (await sqlite_broker.send(BANK, sqlite_broker.signed("intensjonFraBank"))).status == 201
    reads = _counter_reads(sqlite_broker)
    await set_active_elsewhere(_url(sqlite_broker), BANK_2, False)
    sent = await sqlite_broker.send(BANK, sqlite_broker.signed("intensjonFraBank"))
    assert sent.status == 201, await sent.text()
    assert _counter_reads(sqlite_broker) == reads + 1  # the store found it moved; one read, then stored
    assert await _stored(sqlite_broker) == 2


async def test_a_registry_that_keeps_moving_has_the_submission_stored_alone(
    sqlite_broker: Broker, monkeypatch: Any
) -> None:
    assert (await sqlite_broker.send(BANK, sqlite_broker.signed("intensjonFraBank"))).status == 201
    registry = sqlite_broker.services.registry
    refresh = registry.refresh
    changes = [True, False, True]  # the last first: one before the send, one after each of two refreshes

    async def refresh_then_change_again() -> None:
        await refresh()
        await set_active_elsewhere(_url(sqlite_broker), BANK_2, changes.pop())

    monkeypatch.setattr(registry, "refresh", refresh_then_change_again)
    headers = await sqlite_broker.headers(BANK, **{"Content-Type": "application/xml"})
    await set_active_elsewhere(_url(sqlite_broker), BANK_2, changes.pop())
    sent = await sqlite_broker.client.post(
        "/api/v1/messages", data=sqlite_broker.signed("intensjonFraBank"), headers=headers
    )
    assert sent.status == 201, await sent.text()
    assert changes == []  # three stores found it moved; the writer then stored it in a transaction of its own
    assert await _stored(sqlite_broker) == 2
