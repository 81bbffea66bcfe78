"""Where the slowest messages of a soak run spent their time, so a long delay can be pinned on a stage.

A message's delay (first send to first delivery) is split at what the store recorded: ``stored`` until it
was recorded as accepted (retries after 503s, unanswered requests, a killed broker), ``publish`` from there
until RabbitMQ confirmed its publish (the relay's claim, lease, retries), ``deliver`` from the confirm until
the soak's consumer had it; ``answered`` is when the client had its 200/201. (How often a message was
published is for the consumer to count: its outbox row leaves the store once published.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from broker.store.engine import create_engine
from broker.store.tables import messages, status_history

SLOWEST = 12


def _seconds(at: datetime | None) -> float | None:
    return at.timestamp() if at is not None else None


def _span(end: float | None, start: float | None) -> float | None:
    return round(end - start, 3) if end is not None and start is not None else None


async def slowest(
    database_url: str,
    first_sent: Mapping[str, float],
    answered: Mapping[str, float],
    delivered: Mapping[str, float],
    count: int = SLOWEST,
) -> list[dict[str, Any]]:
    """The ``count`` slowest delivered messages, each with its delay split into stages."""
    delays = {ref: delivered[ref] - first_sent[ref] for ref in delivered.keys() & first_sent.keys()}
    worst = sorted(delays, key=delays.__getitem__, reverse=True)[:count]
    if not worst:
        return []
    published = (
        sa.select(status_history.c.message_id, sa.func.min(status_history.c.at).label("published_at"))
        .where(status_history.c.status == "published")
        .group_by(status_history.c.message_id)
        .subquery()
    )
    query = (
        sa.select(messages.c.sender_reference, messages.c.accepted_at, published.c.published_at)
        .select_from(messages.outerjoin(published, published.c.message_id == messages.c.id))
        .where(messages.c.sender_reference.in_(worst))
    )
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = {row.sender_reference: row for row in await conn.execute(query)}
    finally:
        await engine.dispose()
    stages = []
    for ref in worst:
        row = rows.get(ref)
        accepted = _seconds(row.accepted_at) if row is not None else None
        confirmed = _seconds(row.published_at) if row is not None else None
        stages.append(
            {
                "reference": ref,
                "delay_s": round(delays[ref], 3),
                "stored_s": _span(accepted, first_sent[ref]),
                "publish_s": _span(confirmed, accepted),
                "deliver_s": _span(delivered[ref], confirmed),
                "answered_s": _span(answered.get(ref), first_sent[ref]),
                "sent_at": round(first_sent[ref], 3),
            }
        )
    return stages


def duplicates_by_fault(
    duplicates: Sequence[tuple[float, bool]], faults: Sequence[tuple[float, str]]
) -> dict[str, dict[str, int]]:
    """Duplicate deliveries by the fault injected last before them, redelivered by RabbitMQ or published
    again by the broker."""
    counts: dict[str, dict[str, int]] = {}
    for at, redelivered in duplicates:
        cause = max(((t, what) for t, what in faults if t <= at), default=(0.0, "before any fault"))[1]
        kind = "redelivered" if redelivered else "published_twice"
        counts.setdefault(cause, {"redelivered": 0, "published_twice": 0})[kind] += 1
    return counts


def delay_timeline(
    first_sent: Mapping[str, float], delivered: Mapping[str, float], window_s: float = 10.0
) -> list[dict[str, float | int]]:
    """Delay by when messages were first sent, in windows of ``window_s`` from the first send: where in the
    run (before, during or after a fault) the delays grew."""
    if not first_sent:
        return []
    start = min(first_sent.values())
    windows: dict[int, list[float]] = {}
    for ref, sent in first_sent.items():
        if ref in delivered:
            windows.setdefault(int((sent - start) // window_s), []).append(delivered[ref] - sent)
    return [
        {
            "from_s": index * window_s,
            "messages": len(delays),
            "p50_s": round(sorted(delays)[len(delays) // 2], 2),
            "max_s": round(max(delays), 2),
        }
        for index, delays in sorted(windows.items())
    ]


async def not_yet_published(database_url: str, within_s: float) -> int:
    """Messages still ``accepted`` (not yet recorded as published), waiting up to ``within_s`` for none."""
    engine = create_engine(database_url)
    deadline = time.time() + within_s
    try:
        while True:
            async with engine.connect() as conn:
                query = sa.text("SELECT count(*) FROM messages WHERE status = 'accepted'")
                left = int(await conn.scalar(query) or 0)
            if left == 0 or time.time() > deadline:
                return left
            await asyncio.sleep(0.5)
    finally:
        await engine.dispose()
