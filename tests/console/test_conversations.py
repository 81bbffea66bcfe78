"""The console's conversations: each DSVE conversation with its rule checks, broken rules by name, scoped."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from broker.app import create_app
from broker.app_keys import SERVICES
from broker.domain.conversations import ConversationMessage
from broker.usecases.conversation_checks import ConversationPolicy, check_conversation
from broker.xml.pki import TestPki
from tests.console.conftest import BANK_STAFF, OPERATOR, OTHER_BANK_STAFF, add_users, sign_in
from tests.http.conftest import BANK, MEGLER, broker_settings, register_demo

T0 = datetime(2026, 3, 30, 12, tzinfo=UTC)


def _msg(kind: str, sender: str, to: str, ref: str, their: str | None, minutes: int) -> ConversationMessage:
    role = "megler" if sender == MEGLER else "bank"
    return ConversationMessage(
        kind,
        sender,
        (to,),
        ref,
        their,
        sender_role=role,
        at=T0 + timedelta(minutes=minutes),
        transfer_id=str(uuid.uuid4()),
    )


async def test_conversations_show_their_rules_and_broken_ones_by_name(
    aiohttp_client: Any, tmp_path: Path, test_pki: TestPki
) -> None:
    app = create_app(broker_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", test_pki))
    client = await aiohttp_client(app)
    services = app[SERVICES]
    await register_demo(services, test_pki)  # staff sign in only for a registered, active participant
    await add_users(services)
    policy = ConversationPolicy.parse("")
    good = [
        _msg("IntensjonFraBank", BANK, MEGLER, "LAAN-1", None, 0),
        _msg("IntensjonssvarFraMegler", MEGLER, BANK, "OPPDRAG-9", "LAAN-1", 1),
        _msg("GjennomfoertEtinglysing", MEGLER, BANK, "OPPDRAG-9", "LAAN-1", 2),
        _msg("OppnaaddPrioritetOk", MEGLER, BANK, "OPPDRAG-9", "LAAN-1", 3),
    ]
    bad = [
        _msg("IntensjonssvarFraMegler", MEGLER, BANK, "OPPDRAG-3", "LAAN-2", 4),  # reply without a request
        _msg("IntensjonFraBank", BANK, MEGLER, "LAAN-3", None, 5),
        _msg("IntensjonssvarFraMegler", MEGLER, BANK, "OPPDRAG-4", "LAAN-X", 6),  # wrong references
        _msg("OppnaaddPrioritetOk", MEGLER, BANK, "OPPDRAG-4", "LAAN-3", 7),  # priority before registration
    ]
    for message in (*good, *bad):
        await check_conversation(services.engine, policy, "kv_dsve", message)

    assert (await sign_in(client, OPERATOR)).status == 303
    listing = await (await client.get("/console/conversations")).text()
    assert f"/console/conversations/{BANK}/LAAN-1" in listing and "all pass" in listing
    page = await (await client.get(f"/console/conversations/{BANK}/LAAN-1")).text()
    assert "Every rule passes" in page and "reply-answers-request: passes" in page
    assert "priority-after-registration: passes" in page
    broken = await (await client.get(f"/console/conversations/{BANK}/LAAN-3")).text()
    assert "Broken rules: priority-after-registration" in broken
    assert "reply-answers-request" in await (await client.get(f"/console/conversations/{BANK}/LAAN-2")).text()
    wrong = await (await client.get(f"/console/conversations/{BANK}/LAAN-X")).text()
    assert "Broken rules: references-copied" in wrong

    # The bank's staff see their conversations; another bank's staff find none of them.
    assert (await sign_in(client, BANK_STAFF)).status == 303
    assert (await client.get(f"/console/conversations/{BANK}/LAAN-1")).status == 200
    assert (await sign_in(client, OTHER_BANK_STAFF)).status == 303
    assert (await client.get(f"/console/conversations/{BANK}/LAAN-1")).status == 404
    assert "LAAN-1" not in await (await client.get("/console/conversations")).text()
