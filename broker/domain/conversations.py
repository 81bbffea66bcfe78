"""DSVE's conversation rules: what a message of the official profile must fit in the conversation so far.

The specification ties messages together by references: a receiver copies the sender's reference
(``avsender.referanse``) into the recipient's reference (``mottaker.referanse``) of every reply. Following
a conversation by those references, each rule here judges one new message against the earlier ones and
says, by name, whether it holds. Whether a broken rule only gets recorded (``warn``) or fails the transfer
(``enforce``) is the resource's choice, not the rule's.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

# A reply type and the request type it answers.
REPLIES: dict[str, str] = {
    "IntensjonssvarFraMegler": "IntensjonFraBank",
    "KjoepekontraktsvarFraMegler": "KjoepekontraktforespoerselFraBank",
    "Restgjeldssvar": "Restgjeldsforespoersel",
    "Innfrielsessaldosvar": "Innfrielsessaldoforespoersel",
    "SignedMortgageDeedProcessed": "SignedMortgageDeed",
}
MEGLER_ROLES = frozenset({"megler", "oppgjoersforetak"})
# Requests a megler opens with a bank (the sellers' bank at settlement): the conversation is the megler's case.
MEGLER_OPENED = frozenset({"Restgjeldsforespoersel", "Innfrielsessaldoforespoersel"})


class RuleMode(enum.StrEnum):
    OFF = "off"
    WARN = "warn"
    ENFORCE = "enforce"


@dataclass(frozen=True, slots=True)
class ConversationMessage:
    """What the rules need of one message: type, parties, references, manifest status, when."""

    message_type: str
    sender: str
    recipients: tuple[str, ...]
    sender_reference: str | None = None
    recipient_reference: str | None = None
    status: str | None = None
    sender_role: str | None = None
    at: datetime | None = None
    transfer_id: str = ""


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One rule's verdict on one message; ``detail`` says what was expected when it does not hold."""

    rule: str
    holds: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    description: str
    applies: Callable[[ConversationMessage], bool]
    check: Callable[[ConversationMessage, Sequence[ConversationMessage]], str | None]


def _requests_answered(
    message: ConversationMessage, history: Sequence[ConversationMessage]
) -> list[ConversationMessage]:
    """The earlier requests this reply may answer: right type, from its recipient to its sender."""
    wanted = REPLIES[message.message_type]
    return [
        earlier
        for earlier in history
        if earlier.message_type == wanted
        and message.sender in earlier.recipients
        and earlier.sender in message.recipients
    ]


def _reply_has_request(message: ConversationMessage, history: Sequence[ConversationMessage]) -> str | None:
    if _requests_answered(message, history):
        return None
    wanted = REPLIES[message.message_type]
    return (
        f"no {wanted} from {', '.join(message.recipients)} to {message.sender} came before this {message.message_type}"
    )


def _references_copied(message: ConversationMessage, history: Sequence[ConversationMessage]) -> str | None:
    requests = [r for r in _requests_answered(message, history) if r.sender_reference]
    receipt_without_body = message.recipient_reference is None and message.message_type == "SignedMortgageDeedProcessed"
    if not requests or receipt_without_body:
        return None  # no request to compare with (the rule above says so), or a receipt without an XML body
    if any(r.sender_reference == message.recipient_reference for r in requests):
        return None
    expected = " or ".join(sorted({r.sender_reference or "" for r in requests}))
    return (
        f"the recipient's reference is {message.recipient_reference!r}; the request's sender reference is {expected!r}"
    )


def _priority_after_registration(message: ConversationMessage, history: Sequence[ConversationMessage]) -> str | None:
    for earlier in history:
        if (
            earlier.message_type == "GjennomfoertEtinglysing"
            and earlier.sender == message.sender
            and set(message.recipients) & set(earlier.recipients)
            and (
                earlier.recipient_reference == message.recipient_reference
                or None in (earlier.recipient_reference, message.recipient_reference)
            )
        ):
            return None
    case = f" for the bank's case {message.recipient_reference}" if message.recipient_reference else ""
    return f"no GjennomfoertEtinglysing from {message.sender} to {', '.join(message.recipients)}{case} came before"


def _change_to_every_bank(message: ConversationMessage, history: Sequence[ConversationMessage]) -> str | None:
    """A megler's change of method goes to every bank that got an intention reply in the same case."""
    answered = {
        bank
        for earlier in history
        if earlier.message_type == "IntensjonssvarFraMegler"
        and earlier.sender == message.sender
        and earlier.sender_reference == message.sender_reference
        for bank in earlier.recipients
    }
    told = set(message.recipients)
    for earlier in history:
        if (
            earlier.message_type == "Intensjonsendring"
            and earlier.sender == message.sender
            and earlier.sender_reference == message.sender_reference
            and message.at is not None
            and earlier.at is not None
            and abs((message.at - earlier.at).total_seconds()) < 3600
        ):
            told.update(earlier.recipients)
    missing = sorted(answered - told)
    return (
        None if not missing else f"banks that got an IntensjonssvarFraMegler but not this change: {', '.join(missing)}"
    )


def _bank_change_to_its_megler(message: ConversationMessage, history: Sequence[ConversationMessage]) -> str | None:
    for earlier in history:
        mine = earlier.message_type == "IntensjonFraBank" and earlier.sender == message.sender
        if mine and set(earlier.recipients) & set(message.recipients):
            return None
    return f"{message.sender} sent no IntensjonFraBank to {', '.join(message.recipients)} before changing its method"


def _is_reply(message: ConversationMessage) -> bool:
    return message.message_type in REPLIES


def _from_megler(kind: str) -> Callable[[ConversationMessage], bool]:
    return lambda m: m.message_type == kind and (m.sender_role is None or m.sender_role in MEGLER_ROLES)


RULES: tuple[Rule, ...] = (
    Rule(
        "reply-answers-request",
        "a reply answers an earlier request of the right type between the same parties",
        _is_reply,
        _reply_has_request,
    ),
    Rule(
        "references-copied",
        "a reply copies the request's avsender.referanse into mottaker.referanse",
        _is_reply,
        _references_copied,
    ),
    Rule(
        "priority-after-registration",
        "OppnaaddPrioritetOk only after GjennomfoertEtinglysing to the same bank",
        lambda m: m.message_type == "OppnaaddPrioritetOk",
        _priority_after_registration,
    ),
    Rule(
        "change-to-every-bank",
        "a megler's Intensjonsendring goes to every bank that got an IntensjonssvarFraMegler",
        _from_megler("Intensjonsendring"),
        _change_to_every_bank,
    ),
    Rule(
        "bank-change-to-its-megler",
        "a bank's Intensjonsendring goes to a megler it sent IntensjonFraBank",
        lambda m: m.message_type == "Intensjonsendring" and m.sender_role == "bank",
        _bank_change_to_its_megler,
    ),
)
RULE_NAMES = tuple(rule.name for rule in RULES)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Every applicable rule's result for one message, and which broken ones the mode enforces."""

    results: tuple[RuleResult, ...] = field(default_factory=tuple)
    enforced: tuple[RuleResult, ...] = field(default_factory=tuple)

    @property
    def broken(self) -> tuple[RuleResult, ...]:
        return tuple(result for result in self.results if not result.holds)


def judge(
    message: ConversationMessage,
    history: Iterable[ConversationMessage],
    modes: dict[str, RuleMode] | None = None,
    default: RuleMode = RuleMode.WARN,
) -> Verdict:
    """Judge ``message`` against the earlier messages of its parties (``history``, oldest first)."""
    earlier = list(history)
    results = []
    enforced = []
    for rule in RULES:
        mode = (modes or {}).get(rule.name, default)
        if mode is RuleMode.OFF or not rule.applies(message):
            continue
        problem = rule.check(message, earlier)
        result = RuleResult(rule.name, problem is None, problem or "")
        results.append(result)
        if problem is not None and mode is RuleMode.ENFORCE:
            enforced.append(result)
    return Verdict(tuple(results), tuple(enforced))


def parse_modes(raw: str) -> tuple[RuleMode, dict[str, RuleMode]]:
    """``warn`` or ``enforce``, optionally with per-rule modes: ``enforce,references-copied=warn``."""
    default = RuleMode.WARN
    modes: dict[str, RuleMode] = {}
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep:
            default = RuleMode(name)
            continue
        if name.strip() not in RULE_NAMES:
            raise ValueError(f"no conversation rule {name.strip()!r} (rules: {', '.join(RULE_NAMES)})")
        modes[name.strip()] = RuleMode(value.strip())
    return default, modes
