"""What an outbox row publishes: the message itself (to the messages exchange) or an event about it."""

from __future__ import annotations

import enum


class OutboxKind(enum.StrEnum):
    MESSAGE = "message"  # the message's content, read from its row when published
    EVENT = "event"  # a receipt (JSON in the outbox row's body) for the message's sender; joined into arrays
    CLOUDEVENT = "cloudevent"  # a file-transfer event, published on its own as a structured-mode CloudEvent
    NOTICE = "notice"  # a published file transfer's JSON notice, to one recipient's inbox on the messages exchange
