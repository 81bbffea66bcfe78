"""The header every message starts with: id, time, sender, recipient and both parties' references.

A reply copies the request's ``avsendersReferanse`` into its ``mottakersReferanse``: that is how either side
finds its own case again without knowing the other side's numbering.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from participants.messages.model import Data, Organisation, as_datetime

OSLO = ZoneInfo("Europe/Oslo")


def now_oslo() -> datetime:
    """Creation times are stated in Norwegian local time with their offset, like the examples."""
    return datetime.now(OSLO).replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class Header:
    sender: Organisation
    recipient: Organisation
    sender_reference: str
    recipient_reference: str | None = None
    message_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created: datetime = field(default_factory=now_oslo)

    def to_data(self) -> Data:
        data: Data = {
            "meldingsid": self.message_id,
            "opprettet": self.created.isoformat(),
            "avsender": self.sender.to_data(),
            "mottaker": self.recipient.to_data(),
            "avsendersReferanse": self.sender_reference,
        }
        if self.recipient_reference:
            data["mottakersReferanse"] = self.recipient_reference
        return data

    @classmethod
    def from_data(cls, data: Data) -> Header:
        return cls(
            sender=Organisation.from_data(data["avsender"]),
            recipient=Organisation.from_data(data["mottaker"]),
            sender_reference=str(data["avsendersReferanse"]),
            recipient_reference=data.get("mottakersReferanse"),
            message_id=str(data["meldingsid"]),
            created=as_datetime(data["opprettet"]),
        )

    def reply(self, own_reference: str | None = None) -> Header:
        """The header of an answer to this message: sender and recipient swapped, references carried over.

        ``own_reference`` is the answering party's case reference; without one it reuses the reference it
        was addressed with, which the other side set when it knew it.
        """
        reference = own_reference or self.recipient_reference or self.sender_reference
        return Header(
            sender=self.recipient,
            recipient=self.sender,
            sender_reference=reference,
            recipient_reference=self.sender_reference,
        )
