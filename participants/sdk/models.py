"""Typed views of the broker's JSON resources.

The broker's JSON uses snake_case; camelCase spellings are read too so a client keeps working against a
broker that renders its resources for JavaScript callers. Unknown fields are ignored: the broker may add
fields without breaking older participants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _get(data: dict[str, Any], name: str, default: Any = None) -> Any:
    if name in data:
        return data[name]
    return data.get(_camel(name), default)


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


@dataclass(frozen=True, slots=True)
class StatusChange:
    status: str
    at: datetime | None
    actor: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StatusChange:
        return cls(
            status=str(data["status"]),
            at=_time(_get(data, "at") or _get(data, "time") or _get(data, "changed_at")),
            actor=_get(data, "actor"),
        )


@dataclass(frozen=True, slots=True)
class MessageInfo:
    """A message as the broker holds it: its routing fields, size, digest and status history."""

    id: str
    message_type: str
    message_id: str
    sender: str
    recipient: str
    sender_reference: str
    recipient_reference: str | None
    status: str
    size: int | None = None
    sha256: str | None = None
    created: datetime | None = None
    received: datetime | None = None
    history: tuple[StatusChange, ...] = ()
    repeated: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any], repeated: bool = False) -> MessageInfo:
        history = tuple(StatusChange.from_json(h) for h in _get(data, "history", None) or ())
        status = _get(data, "status") or (history[-1].status if history else "")
        return cls(
            id=str(data["id"]),
            message_type=str(_get(data, "message_type", "")),
            message_id=str(_get(data, "message_id", "")),
            sender=str(_get(data, "sender", "")),
            recipient=str(_get(data, "recipient", "")),
            sender_reference=str(_get(data, "sender_reference", "")),
            recipient_reference=_get(data, "recipient_reference"),
            status=str(status),
            size=_get(data, "size"),
            sha256=_get(data, "sha256"),
            created=_time(_get(data, "created")),
            received=_time(_get(data, "received") or _get(data, "accepted_at")),
            history=history,
            repeated=repeated,
        )


@dataclass(frozen=True, slots=True)
class ParticipantInfo:
    """A participant's capabilities, as a sender checks them before addressing a message."""

    orgnr: str
    role: str
    name: str
    sends: frozenset[str] = field(default_factory=frozenset)
    receives: frozenset[str] = field(default_factory=frozenset)
    active: bool = True

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ParticipantInfo:
        return cls(
            orgnr=str(data["orgnr"]),
            role=str(data.get("role", "")),
            name=str(data.get("name", "")),
            sends=frozenset(data.get("sends") or ()),
            receives=frozenset(data.get("receives") or ()),
            active=bool(data.get("active", True)),
        )

    def can_receive(self, message_type: str) -> bool:
        return self.active and message_type in self.receives


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """The whole pipeline's verdict on a document that was not stored."""

    valid: bool
    message_type: str | None
    errors: tuple[dict[str, Any], ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ValidationReport:
        errors = tuple(_get(data, "errors", None) or ())
        valid = _get(data, "valid")
        return cls(
            valid=bool(not errors if valid is None else valid),
            message_type=_get(data, "message_type"),
            errors=errors,
            raw=data,
        )
