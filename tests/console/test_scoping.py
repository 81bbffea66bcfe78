"""A participant's staff see what the API would show their organisation, and nothing else: another
organisation's case or message is "not found", by direct URL and in every listing."""

from __future__ import annotations

from tests.console.conftest import (
    BANK_STAFF,
    OTHER_BANK_STAFF,
    SALE_REFERENCE,
    SALE_UNIT,
    ConsoleBroker,
    csrf_token,
    sign_in,
)
from tests.http.conftest import BANK, BANK_2


async def test_another_organisations_messages_and_cases_are_not_found(console_broker: ConsoleBroker) -> None:
    client = console_broker.client
    ids = console_broker.message_ids
    assert (await sign_in(client, OTHER_BANK_STAFF)).status == 303  # the seller's bank
    for message_type in ("pantedokument", "tinglysingsforsendelse", "intensjonFraBank"):
        response = await client.get(f"/console/messages/{ids[message_type]}")
        assert response.status == 404, message_type
        assert message_type not in await response.text()
    for path in (
        "/console/cases/NLS-LAAN-2026-88213",
        f"/console/cases/NLS-LAAN-2026-88213?org={BANK}",
        "/console/cases/KV-2026-1014733?org=971040238",
    ):
        assert (await client.get(path)).status == 404, path
    # Its own messages it does see.
    assert (await client.get(f"/console/messages/{ids['slettingserklaering']}")).status == 200


async def test_listings_and_counts_are_scoped(console_broker: ConsoleBroker) -> None:
    client = console_broker.client
    ids = console_broker.message_ids
    assert (await sign_in(client, BANK_STAFF)).status == 303
    overview = await (await client.get("/console/")).text()
    assert "sent or received by 910000004" in overview
    assert "tinglysingsforsendelse" not in overview and "restgjeldssvar" not in overview
    assert "Refusals by reason" not in overview  # broker-wide numbers are for operators

    found = await (await client.get(f"/console/cases?unit={SALE_UNIT}")).text()
    assert ids["pantedokument"] in found
    for hidden in ("tinglysingsforsendelse", "restgjeldsforespoersel", "slettingserklaering"):
        assert ids[hidden] not in found
    by_orgnr = await (await client.get(f"/console/cases?orgnr={BANK_2}")).text()
    assert "Nothing found" in by_orgnr  # the bank and the seller's bank share no message

    case = await (await client.get(f"/console/cases/{SALE_REFERENCE}")).text()
    assert ids["pantedokument"] in case and ids["tinglysingsforsendelse"] not in case


async def test_participant_staff_may_neither_redeliver_nor_reveal(console_broker: ConsoleBroker) -> None:
    client = console_broker.client
    ids = console_broker.message_ids
    assert (await sign_in(client, BANK_STAFF)).status == 303
    token = csrf_token(await (await client.get("/console/")).text())
    reveal = await client.post(f"/console/messages/{ids['pantedokument']}/personal-numbers", data={"csrf_token": token})
    assert reveal.status == 403
    assert "15889210181" not in await reveal.text()
    page = await (await client.get(f"/console/messages/{ids['pantedokument']}")).text()
    assert "Show personal numbers in full" not in page
    redeliver = await client.post(f"/console/dead-letters/{ids['pantedokument']}/redeliver", data={"csrf_token": token})
    assert redeliver.status == 403
    assert (await client.get(f"/console/dead-letters/{ids['pantedokument']}/redeliver")).status == 403
