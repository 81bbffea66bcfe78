"""The DSVE conversation rules, each named, each shown holding and broken."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from broker.domain.conversations import RULE_NAMES, ConversationMessage, RuleMode, judge, parse_modes

BANK, BANK2, MEGLER = "920058817", "984851006", "991111123"
T0 = datetime(2026, 3, 30, 12, tzinfo=UTC)


def msg(kind: str, sender: str, recipients: list[str], ref: str | None, their: str | None = None, **kw: object):  # type: ignore[no-untyped-def]
    role = "bank" if sender in (BANK, BANK2) else "megler"
    return ConversationMessage(kind, sender, tuple(recipients), ref, their, sender_role=role, **kw)  # type: ignore[arg-type]


def broken(message: ConversationMessage, history: list[ConversationMessage]) -> list[str]:
    return [result.rule for result in judge(message, history).broken]


INTENT = msg("IntensjonFraBank", BANK, [MEGLER], "LAAN-1", at=T0)
REPLY = msg("IntensjonssvarFraMegler", MEGLER, [BANK], "OPPDRAG-9", "LAAN-1", status="RutetSuksessfullt", at=T0)


def test_a_reply_answers_a_request_with_its_reference_copied() -> None:
    assert [r.rule for r in judge(REPLY, [INTENT]).results] == ["reply-answers-request", "references-copied"]
    assert broken(REPLY, [INTENT]) == []


def test_a_reply_without_a_request_breaks_reply_answers_request() -> None:
    assert broken(REPLY, []) == ["reply-answers-request"]
    # A request between other parties does not count.
    other = msg("IntensjonFraBank", BANK2, [MEGLER], "LAAN-1")
    assert broken(REPLY, [other]) == ["reply-answers-request"]
    # Nor does a request of another type.
    wrong_type = msg("KjoepekontraktforespoerselFraBank", BANK, [MEGLER], "LAAN-1")
    assert broken(REPLY, [wrong_type]) == ["reply-answers-request"]


def test_wrong_references_break_references_copied() -> None:
    wrong = msg("IntensjonssvarFraMegler", MEGLER, [BANK], "OPPDRAG-9", "LAAN-2")
    verdict = judge(wrong, [INTENT])
    assert [r.rule for r in verdict.broken] == ["references-copied"]
    assert "LAAN-1" in verdict.broken[0].detail


def test_priority_only_after_registration() -> None:
    priority = msg("OppnaaddPrioritetOk", MEGLER, [BANK], "OPPDRAG-9", "LAAN-1")
    assert broken(priority, [INTENT, REPLY]) == ["priority-after-registration"]
    registered = msg("GjennomfoertEtinglysing", MEGLER, [BANK], "OPPDRAG-9", "LAAN-1")
    assert broken(priority, [INTENT, REPLY, registered]) == []


def test_a_meglers_change_goes_to_every_bank_that_got_a_reply() -> None:
    intent2 = msg("IntensjonFraBank", BANK2, [MEGLER], "LAAN-7", at=T0)
    reply2 = msg("IntensjonssvarFraMegler", MEGLER, [BANK2], "OPPDRAG-9", "LAAN-7", at=T0)
    history = [INTENT, REPLY, intent2, reply2]
    later = T0 + timedelta(days=3)
    to_one = msg("Intensjonsendring", MEGLER, [BANK], "OPPDRAG-9", "LAAN-1", at=later)
    assert broken(to_one, history) == ["change-to-every-bank"]
    to_both = msg("Intensjonsendring", MEGLER, [BANK, BANK2], "OPPDRAG-9", at=later)
    assert broken(to_both, history) == []
    # Two transfers close together count as one change told to both banks.
    second = msg("Intensjonsendring", MEGLER, [BANK2], "OPPDRAG-9", "LAAN-7", at=later + timedelta(seconds=5))
    assert broken(second, [*history, to_one]) == []


def test_a_banks_change_goes_to_the_megler_it_asked() -> None:
    change = msg("Intensjonsendring", BANK, [MEGLER], "LAAN-1", "OPPDRAG-9")
    assert broken(change, [INTENT]) == []
    assert broken(change, []) == ["bank-change-to-its-megler"]


def test_modes_warn_enforce_and_off() -> None:
    default, modes = parse_modes("enforce,references-copied=warn")
    assert default is RuleMode.ENFORCE and modes == {"references-copied": RuleMode.WARN}
    verdict = judge(REPLY, [], modes, default)
    assert [r.rule for r in verdict.enforced] == ["reply-answers-request"]
    assert judge(REPLY, [], {"reply-answers-request": RuleMode.OFF}).results[0].rule == "references-copied"
    with pytest.raises(ValueError, match="no conversation rule"):
        parse_modes("nosuchrule=warn")
    assert len(RULE_NAMES) == len(set(RULE_NAMES)) == 5
