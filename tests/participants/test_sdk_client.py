"""The SDK client against a real broker app: tokens, send, lists with cursors, download, confirm, problems,
and the whole demo sale carried over HTTP with the simulators polling their inboxes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from broker.app import create_app
from broker.app_keys import SERVICES
from broker.xml.pki import TestPki
from participants.kartverket.register import LandRegister
from participants.kartverket.registration import handle_submission
from participants.kartverket.seed import seed
from participants.sdk.client import BrokerClient
from participants.sdk.errors import BrokerError
from participants.sdk.models import MessageInfo
from participants.sdk.polling import InboxPoller
from tests.http.conftest import broker_settings, register_demo
from tests.participants.world import build_world

BANK, MEGLER, KARTVERKET = "910000004", "930000000", "971040238"


@pytest.fixture
async def broker_url(aiohttp_server: Any, tmp_path: Path, test_pki: TestPki) -> str:
    app = create_app(broker_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}", test_pki))
    server = await aiohttp_server(app)
    await register_demo(app[SERVICES], test_pki)
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def clients(broker_url: str, test_pki: TestPki) -> AsyncIterator[dict[str, BrokerClient]]:
    made = {orgnr: BrokerClient(broker_url, orgnr, test_pki.credential(orgnr)) for orgnr in test_pki.enterprise}
    yield made
    for client in made.values():
        await client.close()


async def test_send_list_download_confirm_and_case(clients: dict[str, BrokerClient], test_pki: TestPki) -> None:
    world = build_world(test_pki, auto_proceed=False)
    case = world.megler.cases[world.sale.reference]
    xml = world.megler.send_financing_check(case)
    sent = await clients[MEGLER].send(xml)
    assert (sent.message_type, sent.sender, sent.recipient, sent.repeated) == (
        "finansieringsforespoersel",
        MEGLER,
        BANK,
        False,
    )
    assert (await clients[MEGLER].send(xml)).repeated

    inbox = [info async for info in clients[BANK].inbox(message_type="finansieringsforespoersel")]
    assert [info.id for info in inbox] == [sent.id]
    assert await clients[BANK].download(sent.id) == xml
    await clients[BANK].confirm(sent.id)
    viewed = await clients[MEGLER].message(sent.id)
    assert viewed.status == "confirmed"
    assert [h.status for h in viewed.history][-1] == "confirmed"
    assert [m.id for m in await clients[MEGLER].case(world.sale.reference)] == [sent.id]
    assert [m.id async for m in clients[MEGLER].outbox()] == [sent.id]


async def test_the_inbox_follows_the_cursor_across_pages(clients: dict[str, BrokerClient], test_pki: TestPki) -> None:
    world = build_world(test_pki, auto_proceed=False)
    case = world.megler.cases[world.sale.reference]
    sent = [await clients[MEGLER].send(world.megler.send_financing_check(case, bid=n)) for n in (1, 2, 3)]
    clients[BANK].page_size = 2
    assert [m.id async for m in clients[BANK].inbox()] == [m.id for m in sent]


async def test_problems_are_raised_as_typed_broker_errors(clients: dict[str, BrokerClient], test_pki: TestPki) -> None:
    world = build_world(test_pki, auto_proceed=False)
    xml = world.megler.send_financing_check(world.megler.cases[world.sale.reference])
    with pytest.raises(BrokerError) as refused:
        await clients[BANK].send(xml)  # the bank is not the message's sender
    assert (refused.value.status, refused.value.slug) == (403, "sender-not-caller")
    with pytest.raises(BrokerError) as missing:
        await clients[BANK].message("00000000-0000-0000-0000-000000000000")
    assert missing.value.status == 404
    report = await clients[MEGLER].validate(xml.replace(b"<budbeloep>", b"<budbeloep>x"))
    assert not report.valid and report.errors


async def test_participants_lookup(clients: dict[str, BrokerClient]) -> None:
    bank = await clients[MEGLER].participant(BANK)
    assert bank.role == "bank" and bank.can_receive("pantedokumentKvittering") and not bank.can_receive("pantedokument")
    assert {p.orgnr for p in await clients[MEGLER].participants()} >= {BANK, MEGLER, KARTVERKET}


async def test_the_demo_sale_over_the_broker_with_polling_inboxes(
    clients: dict[str, BrokerClient], test_pki: TestPki, tmp_path: Path
) -> None:
    register = await LandRegister.open(f"sqlite+aiosqlite:///{tmp_path / 'grunnbok.db'}")
    await seed(register)
    world = build_world(test_pki, register)
    simulators = {
        MEGLER: world.megler.handle_raw,
        BANK: world.buyers_bank.handle_raw,
        world.sale.sellers_bank.orgnr: world.sellers_bank.handle_raw,
    }

    def handler(orgnr: str):
        async def handle(info: MessageInfo, xml: bytes) -> None:
            if orgnr == KARTVERKET:
                replies = await handle_submission(
                    etree.fromstring(xml), world.verifier, register, world.pki.credential(KARTVERKET)
                )
            else:
                replies = await simulators[orgnr](xml)
            for reply in replies:
                await clients[orgnr].send(reply)

        return handle

    pollers = [InboxPoller(clients[orgnr], handler(orgnr)) for orgnr in (*simulators, KARTVERKET)]
    case = world.megler.cases[world.sale.reference]
    await clients[MEGLER].send(world.megler.send_financing_check(case))
    _, intention = world.buyers_bank.send_intention(world.sale.megler, world.sale.buyer_persons, (world.sale.unit,))
    await clients[BANK].send(intention)
    for _ in range(30):
        if not sum([await poller.poll_once() for poller in pollers]):
            break
    await register.close()
    assert case.status == "tinglyst"
    assert [c.status for c in world.sellers_bank.cases.values()] == ["ferdig"]
    for client in clients.values():
        assert [m.message_type async for m in client.inbox() if m.status != "confirmed"] == []
