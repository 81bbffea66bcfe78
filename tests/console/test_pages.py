"""The console's pages for an operator: overview numbers, search, the message view with masked personal
numbers (and the logged reveal), participants, and re-delivery of a dead letter."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from broker.app_keys import REFUSALS
from broker.domain.clock import utc_now
from broker.domain.lifecycle import MessageStatus
from broker.store import tables
from broker.store.status_moves import StatusMoves
from tests.console.conftest import (
    FINANCING_TYPES,
    OPERATOR,
    SALE,
    SALE_UNIT,
    SETTLEMENT_CASE_SIZE,
    ConsoleBroker,
    csrf_token,
    sign_in,
)


@pytest.fixture
async def operator(console_broker: ConsoleBroker) -> ConsoleBroker:
    assert (await sign_in(console_broker.client, OPERATOR)).status == 303
    return console_broker


async def _dead_letter(broker: ConsoleBroker, message_id: str) -> None:
    async with broker.services.engine.begin() as conn:
        moved = await StatusMoves(conn).move(
            [message_id], MessageStatus.DEAD_LETTERED, actor="broker", at=utc_now(), detail="rejected"
        )
    assert moved


async def test_overview_counts_the_sale(operator: ConsoleBroker) -> None:
    page = await (await operator.client.get("/console/")).text()
    assert f"{len(SALE)} messages" in page
    assert f"{len(SALE)} messages accepted in the last hour" in page
    assert page.count('class="bar"') == 12
    assert "Refusals by reason" in page


async def test_overview_shows_refusals_by_reason_from_the_store(operator: ConsoleBroker) -> None:
    for _ in range(3):
        assert (await operator.client.get("/api/v1/messages")).status == 401  # no bearer token
    page = await (await operator.client.get("/console/")).text()
    assert "DSVE-5001" not in page  # counted in memory, not yet written
    await operator.client.app[REFUSALS].flush()
    page = await (await operator.client.get("/console/")).text()
    assert '<td>DSVE-5001</td><td>No access token</td><td class="num">3</td>' in page


async def test_search_by_property_unit_groups_the_cases(operator: ConsoleBroker) -> None:
    page = await (await operator.client.get(f"/console/cases?unit={SALE_UNIT}")).text()
    # The settlement and the bidding round's financing check are two cases naming the same unit.
    assert "2 cases" in page
    assert 'href="/console/cases/OPPGJ-2026-0412?org=930000000"' in page
    assert (await operator.client.get("/console/cases?unit=46-1")).status == 400
    assert (await operator.client.get("/console/cases?orgnr=12")).status == 400
    nothing = await (await operator.client.get("/console/cases?unit=0301-1-1")).text()
    assert "Nothing found" in nothing


async def test_case_page_draws_every_message_with_its_history(operator: ConsoleBroker) -> None:
    page = await (await operator.client.get("/console/cases/OPPGJ-2026-0412")).text()
    assert page.count('class="seq-message"') == SETTLEMENT_CASE_SIZE
    for message_type, message_id in operator.message_ids.items():
        assert (message_id in page) is (message_type not in FINANCING_TYPES)
    assert page.count('<table class="history">') == SETTLEMENT_CASE_SIZE


async def test_message_page_masks_personal_numbers_and_an_operator_may_reveal_them(
    operator: ConsoleBroker, caplog: pytest.LogCaptureFixture
) -> None:
    message_id = operator.message_ids["pantedokument"]
    page = await (await operator.client.get(f"/console/messages/{message_id}")).text()
    assert "158892*****" in page and "15889210181" not in page
    assert "sha256" in page.lower() and "Signer" in page
    stored = await _stored_content(operator, message_id)
    token = csrf_token(page)
    with caplog.at_level(logging.INFO, logger="broker.console"):
        revealed = await operator.client.post(
            f"/console/messages/{message_id}/personal-numbers", data={"csrf_token": token}
        )
    assert revealed.status == 200
    assert "15889210181" in await revealed.text()
    records = [r for r in caplog.records if r.getMessage() == "console showed personal numbers in full"]
    assert len(records) == 1
    assert records[0].username == OPERATOR and records[0].message_id == message_id
    assert "15889210181" not in str(records[0].__dict__)
    assert await _stored_content(operator, message_id) == stored  # the view never touches the stored bytes


async def _stored_content(broker: ConsoleBroker, message_id: str) -> bytes:
    async with broker.services.engine.connect() as conn:
        result = await conn.execute(sa.select(tables.messages.c.content).where(tables.messages.c.id == message_id))
        return result.scalar_one()


async def test_participants_page_shows_roles_and_certificates(operator: ConsoleBroker) -> None:
    page = await (await operator.client.get("/console/participants")).text()
    for name in ("Nordlys Sparebank", "Fjordmegleren Oppgjør AS", "Kartverket"):
        assert name in page
    assert page.count(">valid<") == 4


async def test_a_dead_letter_is_redelivered_after_confirmation(operator: ConsoleBroker) -> None:
    message_id = operator.message_ids["pantedokumentKvittering"]
    await _dead_letter(operator, message_id)
    client = operator.client
    listing = await (await client.get("/console/dead-letters")).text()
    assert f"/console/dead-letters/{message_id}/redeliver" in listing
    confirm = await client.get(f"/console/dead-letters/{message_id}/redeliver")
    assert confirm.status == 200
    page = await confirm.text()
    assert "Yes, re-deliver" in page

    async with operator.services.engine.connect() as conn:
        before = (
            await conn.execute(sa.select(sa.func.count()).where(tables.outbox.c.message_id == message_id))
        ).scalar_one()
    done = await client.post(
        f"/console/dead-letters/{message_id}/redeliver", data={"csrf_token": csrf_token(page)}, allow_redirects=False
    )
    assert done.status == 303
    async with operator.services.engine.connect() as conn:
        status = (
            await conn.execute(sa.select(tables.messages.c.status).where(tables.messages.c.id == message_id))
        ).scalar_one()
        rows = (
            await conn.execute(
                sa.select(tables.outbox.c.kind, tables.outbox.c.routing_key).where(
                    tables.outbox.c.message_id == message_id
                )
            )
        ).all()
        history = (
            await conn.execute(
                sa.select(tables.status_history.c.actor)
                .where(tables.status_history.c.message_id == message_id)
                .order_by(tables.status_history.c.id.desc())
                .limit(1)
            )
        ).scalar_one()
    assert status == MessageStatus.PUBLISHED.value
    assert len(rows) == before + 2  # the message again, and the sender's receipt
    assert ("message", "910000004.pantedokumentKvittering") in [tuple(r) for r in rows]
    assert history == f"console:{OPERATOR}"
    # A second POST (a reload) finds nothing to do.
    again = await client.post(f"/console/dead-letters/{message_id}/redeliver", data={"csrf_token": csrf_token(page)})
    assert again.status == 409
