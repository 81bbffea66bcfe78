"""The conversation checks of the official DSVE profile: judge a transfer against its parties' earlier messages,
record it with every rule's verdict, and say which broken rules the resource enforces.

Each resource chooses per rule: ``warn`` (the default: recorded and shown in the console per conversation),
``enforce`` (the transfer ends ``Failed`` naming the rule) or ``off``. The setting
``DSVE_CONVERSATION_RULES`` reads ``kv_dsve=enforce,kv_dsve:references-copied=warn``. Only accepted messages
count as history: a refused reply does not answer anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from broker.domain.conversations import (
    MEGLER_OPENED,
    REPLIES,
    RULE_NAMES,
    ConversationMessage,
    RuleMode,
    Verdict,
    judge,
)
from broker.store.conversation_repository import ConversationRepository, RecordedMessage
from broker.store.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class ResourceRules:
    default: RuleMode = RuleMode.WARN
    modes: dict[str, RuleMode] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConversationPolicy:
    """The rules' modes per resource; a resource not named gets ``warn`` for every rule."""

    resources: dict[str, ResourceRules] = field(default_factory=dict)

    def for_resource(self, resource_id: str) -> ResourceRules:
        return self.resources.get(resource_id, ResourceRules())

    @classmethod
    def parse(cls, raw: str) -> ConversationPolicy:
        defaults: dict[str, RuleMode] = {}
        modes: dict[str, dict[str, RuleMode]] = {}
        for item in raw.split(","):
            item = item.strip()
            if not item:
                continue
            target, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"DSVE_CONVERSATION_RULES: {item!r} is not resource=mode or resource:rule=mode")
            try:
                mode = RuleMode(value.strip())
            except ValueError:
                raise ValueError(f"DSVE_CONVERSATION_RULES: {value.strip()!r} is not off, warn or enforce") from None
            resource, _, rule = target.strip().partition(":")
            if rule:
                if rule not in RULE_NAMES:
                    raise ValueError(f"DSVE_CONVERSATION_RULES: no rule {rule!r} (rules: {', '.join(RULE_NAMES)})")
                modes.setdefault(resource, {})[rule] = mode
            else:
                defaults[resource] = mode
        return cls(
            {
                resource: ResourceRules(defaults.get(resource, RuleMode.WARN), modes.get(resource, {}))
                for resource in {*defaults, *modes}
            }
        )


def conversation_key(message: ConversationMessage) -> str:
    """A conversation is one case: the orgnr of the party that opened it and its reference, which every reply
    must carry. A bank opens most (its loan case); a megler opens the debt and payoff questions to the sellers'
    bank (its sale), whose own reference the first request cannot know yet."""
    if message.message_type in MEGLER_OPENED:
        return f"{message.sender}/{message.sender_reference or '-'}"
    if REPLIES.get(message.message_type) in MEGLER_OPENED and message.recipients:
        return f"{message.recipients[0]}/{message.recipient_reference or '-'}"
    if message.sender_role == "bank" or not message.recipients:
        return f"{message.sender}/{message.sender_reference or '-'}"
    return f"{message.recipients[0]}/{message.recipient_reference or '-'}"


async def check_conversation(
    engine: AsyncEngine, policy: ConversationPolicy, resource_id: str, message: ConversationMessage
) -> Verdict:
    """Judge ``message``, record it with its verdicts (refused when an enforced rule is broken), commit."""
    rules = policy.for_resource(resource_id)
    async with UnitOfWork(engine) as uow:
        repository = ConversationRepository(uow.connection)
        history = await repository.history({message.sender, *message.recipients})
        verdict = judge(message, history, rules.modes, rules.default)
        await repository.record(
            message, resource_id, conversation_key(message), accepted=not verdict.enforced, results=verdict.results
        )
        await uow.commit()
    return verdict


async def conversation(engine: AsyncEngine, key: str, visible_to: str | None = None) -> list[RecordedMessage]:
    async with UnitOfWork(engine) as uow:
        return await ConversationRepository(uow.connection).conversation(key, visible_to)


async def recent_conversations(engine: AsyncEngine, visible_to: str | None = None) -> list[tuple[str, int, int]]:
    async with UnitOfWork(engine) as uow:
        return await ConversationRepository(uow.connection).conversations(visible_to)
