"""A message as the broker keeps it, and one step of its status history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from broker.domain.lifecycle import MessageStatus


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One accepted message: its routing fields (read from the signed document), the exact bytes and its status.

    ``seq`` is the store's running number, assigned on insert (``None`` before that): listings page on it, so a
    client that remembers the last ``seq`` it saw never misses a message. ``content`` is ``None`` once purged,
    and also where a listing left the bytes out.
    """

    id: str
    message_type: str
    message_id: str
    sender: str
    recipient: str
    sender_reference: str
    recipient_reference: str | None
    document_created: datetime | None
    signer_subject: str
    size: int
    sha256: str
    content: bytes | None
    status: MessageStatus
    accepted_at: datetime
    expires_at: datetime
    status_changed_at: datetime
    seq: int | None = None

    def stored_as(self, seq: int) -> StoredMessage:
        """This message with the ``seq`` its insert was given: ``dataclasses.replace`` walks the fields each
        call, which was ~4 % of the embedded broker's thread under load for this one copy per message."""
        return StoredMessage(
            self.id,
            self.message_type,
            self.message_id,
            self.sender,
            self.recipient,
            self.sender_reference,
            self.recipient_reference,
            self.document_created,
            self.signer_subject,
            self.size,
            self.sha256,
            self.content,
            self.status,
            self.accepted_at,
            self.expires_at,
            self.status_changed_at,
            seq,
        )

    def visible_to(self, orgnr: str) -> bool:
        """Only the two parties of a message may see it; everyone else is told it does not exist."""
        return orgnr in (self.sender, self.recipient)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One status a message took, when, and who caused it (an orgnr, ``broker`` or ``relay``)."""

    status: MessageStatus
    at: datetime
    actor: str
    detail: str | None = None
