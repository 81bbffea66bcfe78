"""Conversation checks through the store: history by party, the verdicts recorded, enforce refuses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.domain.conversations import ConversationMessage
from broker.usecases.conversation_checks import (
    ConversationPolicy,
    check_conversation,
    conversation,
    conversation_key,
    recent_conversations,
)

BANK, OTHER_BANK, MEGLER = "920058817", "984851006", "991111123"
T0 = datetime(2026, 3, 30, 12, tzinfo=UTC)


def _msg(kind: str, sender: str, to: str, ref: str, their: str | None = None, minutes: int = 0) -> ConversationMessage:
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


async def test_a_whole_conversation_passes_and_is_shown_with_its_rules(engine: AsyncEngine) -> None:
    policy = ConversationPolicy.parse("")
    sale = [
        _msg("IntensjonFraBank", BANK, MEGLER, "LAAN-1"),
        _msg("IntensjonssvarFraMegler", MEGLER, BANK, "OPPDRAG-9", "LAAN-1", 1),
        _msg("GjennomfoertEtinglysing", MEGLER, BANK, "OPPDRAG-9", "LAAN-1", 2),
        _msg("OppnaaddPrioritetOk", MEGLER, BANK, "OPPDRAG-9", "LAAN-1", 3),
    ]
    for message in sale:
        verdict = await check_conversation(engine, policy, "kv_dsve", message)
        assert verdict.broken == () and verdict.enforced == ()
    key = conversation_key(sale[0])
    assert key == f"{BANK}/LAAN-1" and all(conversation_key(m) == key for m in sale)
    recorded = await conversation(engine, key)
    assert [r.message.message_type for r in recorded] == [m.message_type for m in sale]
    assert [[res.rule for res in r.results] for r in recorded][1] == ["reply-answers-request", "references-copied"]
    assert await recent_conversations(engine) == [(key, 4, 0)]
    # Another bank sees none of it.
    assert await conversation(engine, key, visible_to=OTHER_BANK) == []


async def test_a_broken_conversation_shows_each_broken_rule_and_enforce_refuses(engine: AsyncEngine) -> None:
    warn = ConversationPolicy.parse("kv_dsve=warn")
    reply_without_request = _msg("IntensjonssvarFraMegler", MEGLER, BANK, "OPPDRAG-1", "LAAN-5")
    assert [r.rule for r in (await check_conversation(engine, warn, "kv_dsve", reply_without_request)).broken] == [
        "reply-answers-request"
    ]
    await check_conversation(engine, warn, "kv_dsve", _msg("IntensjonFraBank", BANK, MEGLER, "LAAN-6", minutes=1))
    wrong_refs = _msg("IntensjonssvarFraMegler", MEGLER, BANK, "OPPDRAG-1", "LAAN-7", 2)
    assert [r.rule for r in (await check_conversation(engine, warn, "kv_dsve", wrong_refs)).broken] == [
        "references-copied"
    ]
    early = _msg("OppnaaddPrioritetOk", MEGLER, BANK, "OPPDRAG-1", "LAAN-6", 3)
    enforce = ConversationPolicy.parse("kv_dsve=enforce,kv_dsve:references-copied=warn")
    verdict = await check_conversation(engine, enforce, "kv_dsve", early)
    assert [r.rule for r in verdict.enforced] == ["priority-after-registration"]
    recorded = await conversation(engine, f"{BANK}/LAAN-6")
    refused = [r for r in recorded if not r.accepted]
    assert [r.message.message_type for r in refused] == ["OppnaaddPrioritetOk"]
    # A refused message is no history: the priority message did not happen.
    registered = _msg("GjennomfoertEtinglysing", MEGLER, BANK, "OPPDRAG-1", "LAAN-6", 4)
    assert (await check_conversation(engine, enforce, "kv_dsve", registered)).broken == ()


def test_the_setting_is_checked() -> None:
    for raw in ("kv_dsve", "kv_dsve=loud", "kv_dsve:nosuchrule=warn"):
        with pytest.raises(ValueError, match="DSVE_CONVERSATION_RULES"):
            ConversationPolicy.parse(raw)
