"""The events Altinn 3 Broker tells its parties about, as plain values and as CloudEvents 1.0.

Altinn publishes one event per party concerned (the sender, or one recipient) with the organisation as
``subject`` (``/organisation/<orgnr>``), the resource as ``resource`` (``urn:altinn:resource:<id>``), the
file transfer's id as ``resourceinstance`` and the party's role in ``data``. This broker keeps that shape so
a subscriber written for Altinn reads these unchanged. ``alternativesubject`` carries Altinn's register
party id, which this broker does not have: it is left out.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

SPEC_VERSION = "1.0"
# Altinn writes its gateway's address before this path; this broker does not know the address its clients
# reach it at (a proxy may stand in front), so ``source`` is the URI-reference, which CloudEvents allows.
SOURCE = "/broker/api/v1/filetransfer"
_TYPE_PREFIX = "no.altinn.broker."
_ORGANISATION_PREFIXES = ("0192:", "urn:altinn:organization:identifier-no:")


class AltinnEventType(enum.StrEnum):
    FILE_TRANSFER_INITIALIZED = "no.altinn.broker.filetransferinitialized"
    UPLOAD_PROCESSING = "no.altinn.broker.uploadprocessing"
    PUBLISHED = "no.altinn.broker.published"
    UPLOAD_FAILED = "no.altinn.broker.uploadfailed"
    DOWNLOAD_CONFIRMED = "no.altinn.broker.downloadconfirmed"
    ALL_CONFIRMED_DOWNLOADED = "no.altinn.broker.allconfirmeddownloaded"
    FILE_PURGED = "no.altinn.broker.filepurged"
    FILE_NEVER_CONFIRMED_DOWNLOADED = "no.altinn.broker.fileneverconfirmeddownloaded"

    @classmethod
    def parse(cls, name: str) -> AltinnEventType:
        """A type from its full name or its short one (``published``); ValueError when there is none such."""
        return cls(name if "." in name else f"{_TYPE_PREFIX}{name.lower()}")

    @property
    def short_name(self) -> str:
        """The name without ``no.altinn.broker.``: the last part of the AMQP routing key."""
        return self.value.removeprefix(_TYPE_PREFIX)


class SubjectRole(enum.StrEnum):
    """Which side of the transfer the party the event is for stands on."""

    SENDER = "Sender"
    RECIPIENT = "Recipient"


def party_orgnr(party: str) -> str:
    """The organisation number of a party written as Altinn writes it, or as nine digits.

    ``0192:<orgnr>`` and ``urn:altinn:organization:identifier-no:<orgnr>`` name the same organisation."""
    value = party.strip()
    for prefix in _ORGANISATION_PREFIXES:
        if value.startswith(prefix):
            value = value[len(prefix) :]
            break
    if len(value) != 9 or not (value.isascii() and value.isdigit()):
        raise ValueError(f"not an organisation number: {party!r}")
    return value


@dataclass(frozen=True, slots=True)
class AltinnEvent:
    """One event for one party: the sender, or one of the recipients."""

    type: AltinnEventType
    resource_id: str
    file_transfer_id: str
    party: str  # the orgnr of the organisation the event is for
    role: SubjectRole | None = None
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    seq: int | None = None  # its place in the event log, once stored

    @property
    def subject(self) -> str:
        return f"/organisation/{self.party}"

    @property
    def resource(self) -> str:
        return f"urn:altinn:resource:{self.resource_id}"

    def data(self) -> dict[str, str] | None:
        """Altinn's ``data``: the party's role, when the event names one."""
        return {"Role": self.role.value} if self.role is not None else None

    @property
    def routing_key(self) -> str:
        """``<orgnr>.filetransfer.<type>``: the party's events queue takes it (bound ``<orgnr>.#``)."""
        return f"{self.party}.filetransfer.{self.type.short_name}"

    def cloud_event(self) -> dict[str, object]:
        """The event as a structured-mode CloudEvent (the JSON object of ``application/cloudevents+json``)."""
        envelope: dict[str, object] = {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": SOURCE,
            "type": self.type.value,
            "time": self.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "subject": self.subject,
            "resource": self.resource,
            "resourceinstance": self.file_transfer_id,
        }
        data = self.data()
        if data is not None:
            envelope["datacontenttype"] = "application/json"
            envelope["data"] = data
        return envelope


def from_cloud_event(envelope: Mapping[str, object]) -> AltinnEvent:
    """Read back a CloudEvent this broker made (for consumers and tests); a foreign one raises ValueError."""
    if envelope.get("specversion") != SPEC_VERSION:
        raise ValueError("not a CloudEvents 1.0 envelope")
    resource = str(envelope.get("resource", ""))
    subject = str(envelope.get("subject", ""))
    if not resource.startswith("urn:altinn:resource:") or not subject.startswith("/organisation/"):
        raise ValueError("not an Altinn broker event")
    data = envelope.get("data")
    role = data.get("Role") if isinstance(data, Mapping) else None
    return AltinnEvent(
        type=AltinnEventType(str(envelope.get("type"))),
        resource_id=resource.removeprefix("urn:altinn:resource:"),
        file_transfer_id=str(envelope.get("resourceinstance", "")),
        party=party_orgnr(subject.removeprefix("/organisation/")),
        role=SubjectRole(str(role)) if role is not None else None,
        time=datetime.fromisoformat(str(envelope.get("time"))),
        id=str(envelope.get("id")),
    )
