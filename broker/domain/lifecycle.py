"""Message statuses and the transitions between them.

The history is append-only; this module says which step may follow which, so a late or repeated event
(a confirm after expiry, a second publish confirm from another relay) can never move a message backwards.
"""

from __future__ import annotations

import enum


class MessageStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    PUBLISHED = "published"
    DOWNLOADED = "downloaded"
    CONFIRMED = "confirmed"
    DEAD_LETTERED = "dead_lettered"
    EXPIRED = "expired"
    PURGED = "purged"


_NEXT: dict[MessageStatus, frozenset[MessageStatus]] = {
    MessageStatus.ACCEPTED: frozenset(
        {MessageStatus.PUBLISHED, MessageStatus.DOWNLOADED, MessageStatus.CONFIRMED, MessageStatus.EXPIRED}
    ),
    MessageStatus.PUBLISHED: frozenset(
        {MessageStatus.DOWNLOADED, MessageStatus.CONFIRMED, MessageStatus.DEAD_LETTERED, MessageStatus.EXPIRED}
    ),
    MessageStatus.DOWNLOADED: frozenset({MessageStatus.CONFIRMED, MessageStatus.EXPIRED}),
    MessageStatus.DEAD_LETTERED: frozenset(
        {MessageStatus.PUBLISHED, MessageStatus.DOWNLOADED, MessageStatus.CONFIRMED, MessageStatus.EXPIRED}
    ),
    MessageStatus.CONFIRMED: frozenset({MessageStatus.PURGED}),
    MessageStatus.EXPIRED: frozenset({MessageStatus.PURGED}),
    MessageStatus.PURGED: frozenset(),
}


def can_move(current: MessageStatus, new: MessageStatus) -> bool:
    """Whether ``new`` may follow ``current``; a message never goes back nor repeats a step."""
    return new in _NEXT[current]


# The order a delivered message goes through. A step can be overtaken: a recipient polling over HTTP may
# download a message before the relay has recorded its publish confirm. The step still happened.
MAIN_LINE: tuple[MessageStatus, ...] = (
    MessageStatus.ACCEPTED,
    MessageStatus.PUBLISHED,
    MessageStatus.DOWNLOADED,
    MessageStatus.CONFIRMED,
)


def overtaken(current: MessageStatus, step: MessageStatus) -> bool:
    """Whether ``current`` lies beyond ``step`` on the main line, so ``step`` is history, not a move."""
    return current in MAIN_LINE and step in MAIN_LINE and MAIN_LINE.index(current) > MAIN_LINE.index(step)
