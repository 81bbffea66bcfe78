"""The routing fields every message carries inside its signed document."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RoutingFields:
    """What the broker routes on. Read from the verifier's signed result only, never from the raw input."""

    message_type: str
    message_id: str
    sender: str
    recipient: str
    sender_reference: str
    recipient_reference: str | None
    created: datetime | None = None
