"""The messages of DSVE conversations and their rule verdicts (table ``conversation_messages``).

A transfer to N recipients is N rows (one per recipient) sharing the transfer id, so "every message between
these parties" is an index lookup by sender or recipient; reading it back folds the rows of one transfer
into one message again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.domain.conversations import ConversationMessage, RuleResult
from broker.store.tables import conversation_messages as table

HISTORY_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class RecordedMessage:
    """One message of a conversation as recorded, with the verdict of each rule on it."""

    message: ConversationMessage
    resource_id: str
    conversation: str
    accepted: bool
    results: tuple[RuleResult, ...]


def _results(raw: str) -> tuple[RuleResult, ...]:
    return tuple(RuleResult(str(r["rule"]), bool(r["holds"]), str(r.get("detail", ""))) for r in json.loads(raw))


def _fold(rows: Sequence[sa.Row[tuple[object, ...]]]) -> list[RecordedMessage]:
    by_transfer: dict[str, RecordedMessage] = {}
    for row in rows:
        m = row._mapping
        transfer_id = str(m["file_transfer_id"])
        known = by_transfer.get(transfer_id)
        if known is not None:
            recipients = (*known.message.recipients, str(m["recipient"]))
            by_transfer[transfer_id] = RecordedMessage(
                _with_recipients(known.message, recipients),
                known.resource_id,
                known.conversation,
                known.accepted,
                known.results,
            )
            continue
        at = m["at"]
        message = ConversationMessage(
            message_type=str(m["message_type"]),
            sender=str(m["sender"]),
            recipients=(str(m["recipient"]),),
            sender_reference=m["sender_reference"],
            recipient_reference=m["recipient_reference"],
            status=m["status"],
            sender_role=m["sender_role"],
            at=at if isinstance(at, datetime) else None,
            transfer_id=transfer_id,
        )
        by_transfer[transfer_id] = RecordedMessage(
            message, str(m["resource_id"]), str(m["conversation"]), bool(m["accepted"]), _results(str(m["results"]))
        )
    return list(by_transfer.values())


def _with_recipients(message: ConversationMessage, recipients: tuple[str, ...]) -> ConversationMessage:
    return ConversationMessage(
        message.message_type,
        message.sender,
        recipients,
        message.sender_reference,
        message.recipient_reference,
        message.status,
        message.sender_role,
        message.at,
        message.transfer_id,
    )


class ConversationRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def history(self, parties: Iterable[str]) -> list[ConversationMessage]:
        """The accepted messages sent by or to any of ``parties``, oldest first (the most recent ones)."""
        wanted = sorted(set(parties))
        seqs = (
            sa.select(table.c.file_transfer_id)
            .where(table.c.accepted.is_(True), sa.or_(table.c.sender.in_(wanted), table.c.recipient.in_(wanted)))
            .order_by(table.c.seq.desc())
            .limit(HISTORY_LIMIT)
        )
        transfer_ids = {row[0] for row in (await self._connection.execute(seqs)).all()}
        if not transfer_ids:
            return []
        rows = (
            await self._connection.execute(
                sa.select(table).where(table.c.file_transfer_id.in_(sorted(transfer_ids))).order_by(table.c.seq)
            )
        ).all()
        return [recorded.message for recorded in _fold(rows)]

    async def record(
        self,
        message: ConversationMessage,
        resource_id: str,
        conversation: str,
        accepted: bool,
        results: Sequence[RuleResult],
    ) -> None:
        encoded = json.dumps([{"rule": r.rule, "holds": r.holds, "detail": r.detail} for r in results])
        await self._connection.execute(
            sa.insert(table),
            [
                {
                    "file_transfer_id": message.transfer_id,
                    "resource_id": resource_id,
                    "conversation": conversation,
                    "message_type": message.message_type,
                    "sender": message.sender,
                    "sender_role": message.sender_role,
                    "recipient": recipient,
                    "sender_reference": message.sender_reference,
                    "recipient_reference": message.recipient_reference,
                    "status": message.status,
                    "accepted": accepted,
                    "results": encoded,
                    "at": message.at,
                }
                for recipient in message.recipients
            ],
        )

    async def conversation(self, key: str, visible_to: str | None = None) -> list[RecordedMessage]:
        """Every message of one conversation, oldest first; with ``visible_to``, only its own messages."""
        query = sa.select(table).where(table.c.conversation == key)
        if visible_to is not None:
            query = query.where(sa.or_(table.c.sender == visible_to, table.c.recipient == visible_to))
        rows = (await self._connection.execute(query.order_by(table.c.seq))).all()
        return _fold(rows)

    async def conversations(self, visible_to: str | None = None, limit: int = 100) -> list[tuple[str, int, int]]:
        """The most recent conversations: key, messages, messages with a broken rule."""
        broken = sa.func.count(
            sa.distinct(sa.case((table.c.results.like('%"holds": false%'), table.c.file_transfer_id), else_=None))
        )
        query = sa.select(table.c.conversation, sa.func.count(sa.distinct(table.c.file_transfer_id)), broken)
        if visible_to is not None:
            query = query.where(sa.or_(table.c.sender == visible_to, table.c.recipient == visible_to))
        query = query.group_by(table.c.conversation).order_by(sa.func.max(table.c.seq).desc()).limit(limit)
        return [
            (str(key), int(count), int(bad or 0)) for key, count, bad in (await self._connection.execute(query)).all()
        ]
