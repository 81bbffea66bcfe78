"""The answers of the Altinn-compatible file-transfer API as typed values (Altinn's JSON field names)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class RecipientStatus:
    recipient: str
    status: str
    text: str
    changed: datetime | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecipientStatus:
        return cls(
            recipient=_text(data.get("recipient")),
            status=_text(data.get("currentRecipientFileTransferStatusCode")),
            text=_text(data.get("currentRecipientFileTransferStatusText")),
            changed=_time(data.get("currentRecipientFileTransferStatusChanged")),
        )


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """One step of a transfer's history, or of one recipient's (``recipient`` set)."""

    status: str
    text: str
    changed: datetime | None
    recipient: str | None = None


@dataclass(frozen=True, slots=True)
class FileTransferOverview:
    file_transfer_id: str
    resource_id: str
    file_name: str
    sender: str
    status: str
    status_text: str
    status_changed: datetime | None
    created: datetime | None
    expiration_time: datetime | None
    size: int
    checksum: str | None
    senders_reference: str | None
    property_list: dict[str, str]
    recipients: list[RecipientStatus]
    history: list[StatusEvent] = field(default_factory=list)  # details only
    recipient_history: list[StatusEvent] = field(default_factory=list)  # details only

    def recipient(self, party: str) -> RecipientStatus | None:
        """The status of one recipient, named as an orgnr or in Altinn's ``0192:`` form."""
        wanted = party.rsplit(":", 1)[-1]
        return next((r for r in self.recipients if r.recipient.rsplit(":", 1)[-1] == wanted), None)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FileTransferOverview:
        history = [
            StatusEvent(
                _text(e.get("fileTransferStatus")),
                _text(e.get("fileTransferStatusText")),
                _time(e.get("fileTransferStatusChanged")),
            )
            for e in data.get("fileTransferStatusHistory") or []
        ]
        recipient_history = [
            StatusEvent(
                _text(e.get("recipientFileTransferStatusCode")),
                _text(e.get("recipientFileTransferStatusText")),
                _time(e.get("recipientFileTransferStatusChanged")),
                _text(e.get("recipient")),
            )
            for e in data.get("recipientFileTransferStatusHistory") or []
        ]
        properties = data.get("propertyList") or {}
        return cls(
            file_transfer_id=_text(data.get("fileTransferId")),
            resource_id=_text(data.get("resourceId")),
            file_name=_text(data.get("fileName")),
            sender=_text(data.get("sender")),
            status=_text(data.get("fileTransferStatus")),
            status_text=_text(data.get("fileTransferStatusText")),
            status_changed=_time(data.get("fileTransferStatusChanged")),
            created=_time(data.get("created")),
            expiration_time=_time(data.get("expirationTime")),
            size=int(data.get("fileTransferSize") or 0),
            checksum=data.get("checksum") or None,
            senders_reference=data.get("sendersFileTransferReference") or None,
            property_list={str(k): str(v) for k, v in properties.items()},
            recipients=[RecipientStatus.from_json(r) for r in data.get("recipients") or []],
            history=history,
            recipient_history=recipient_history,
        )
