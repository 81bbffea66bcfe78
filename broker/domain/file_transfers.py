"""File transfers as Altinn 3 Broker has them: statuses, parties, property lists and resource settings.

The spellings are Altinn's (``Initialized``, ``UploadStarted``, ``0192:<orgnr>``, ISO 8601 durations), so a
participant system written against Altinn's public contract reads and writes the same values here.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from broker.domain.identifiers import is_valid_orgnr


class FileTransferStatus(enum.StrEnum):
    INITIALIZED = "Initialized"
    UPLOAD_STARTED = "UploadStarted"
    UPLOAD_PROCESSING = "UploadProcessing"
    PUBLISHED = "Published"
    CANCELLED = "Cancelled"
    ALL_CONFIRMED_DOWNLOADED = "AllConfirmedDownloaded"
    PURGED = "Purged"
    FAILED = "Failed"


class RecipientStatus(enum.StrEnum):
    INITIALIZED = "Initialized"
    DOWNLOAD_STARTED = "DownloadStarted"
    DOWNLOAD_CONFIRMED = "DownloadConfirmed"


class SearchRole(enum.StrEnum):
    RECIPIENT = "Recipient"
    SENDER = "Sender"


# Which status may follow which: a late or repeated call can never move a transfer backwards.
_NEXT: dict[FileTransferStatus, frozenset[FileTransferStatus]] = {
    FileTransferStatus.INITIALIZED: frozenset(
        {FileTransferStatus.UPLOAD_STARTED, FileTransferStatus.FAILED, FileTransferStatus.PURGED}
    ),
    FileTransferStatus.UPLOAD_STARTED: frozenset(
        {FileTransferStatus.UPLOAD_PROCESSING, FileTransferStatus.FAILED, FileTransferStatus.PURGED}
    ),
    FileTransferStatus.UPLOAD_PROCESSING: frozenset({FileTransferStatus.PUBLISHED, FileTransferStatus.FAILED}),
    FileTransferStatus.PUBLISHED: frozenset({FileTransferStatus.ALL_CONFIRMED_DOWNLOADED, FileTransferStatus.PURGED}),
    FileTransferStatus.ALL_CONFIRMED_DOWNLOADED: frozenset({FileTransferStatus.PURGED}),
    FileTransferStatus.FAILED: frozenset({FileTransferStatus.PURGED}),
    FileTransferStatus.CANCELLED: frozenset({FileTransferStatus.PURGED}),
    FileTransferStatus.PURGED: frozenset(),
}

STATUS_TEXT: dict[FileTransferStatus, str] = {
    FileTransferStatus.INITIALIZED: "Initialized - Metadata provided",
    FileTransferStatus.UPLOAD_STARTED: "Upload started",
    FileTransferStatus.UPLOAD_PROCESSING: "Upload is being processed",
    FileTransferStatus.PUBLISHED: "Published - File is ready for download",
    FileTransferStatus.CANCELLED: "Cancelled",
    FileTransferStatus.ALL_CONFIRMED_DOWNLOADED: "All recipients have confirmed the download",
    FileTransferStatus.PURGED: "The file has been purged",
    FileTransferStatus.FAILED: "Failed",
}

RECIPIENT_STATUS_TEXT: dict[RecipientStatus, str] = {
    RecipientStatus.INITIALIZED: "Initialized",
    RecipientStatus.DOWNLOAD_STARTED: "Started downloading the file",
    RecipientStatus.DOWNLOAD_CONFIRMED: "Confirmed that the file has been downloaded",
}


def can_move(current: FileTransferStatus, new: FileTransferStatus) -> bool:
    return new in _NEXT[current]


def recipient_rank(status: RecipientStatus) -> int:
    return list(RecipientStatus).index(status)


_PARTY_PREFIX = "0192:"
_PARTY_URN = "urn:altinn:organization:identifier-no:"


def parse_party(value: str) -> str | None:
    """The orgnr of a party written ``0192:<orgnr>``, ``urn:altinn:organization:identifier-no:<orgnr>`` or
    as a bare orgnr, or None when it is none of those or the check digit is wrong."""
    text = value.strip()
    for prefix in (_PARTY_PREFIX, _PARTY_URN):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    return text if is_valid_orgnr(text) else None


def party(orgnr: str) -> str:
    """How Altinn writes an organisation in its answers."""
    return f"{_PARTY_PREFIX}{orgnr}"


PROPERTY_LIST_MAX = 10
PROPERTY_KEY_MAX = 50
PROPERTY_VALUE_MAX = 300
_MD5 = re.compile(r"^[0-9a-f]{32}$")


def property_list_problem(properties: Mapping[str, str]) -> str | None:
    """Why a property list is refused, with Altinn's limits, or None when it is acceptable."""
    if len(properties) > PROPERTY_LIST_MAX:
        return f"PropertyList can contain at most {PROPERTY_LIST_MAX} properties"
    for key, value in properties.items():
        if len(key) > PROPERTY_KEY_MAX:
            return f"PropertyList Key can not be longer than {PROPERTY_KEY_MAX}"
        if len(value) > PROPERTY_VALUE_MAX:
            return f"PropertyList Value can not be longer than {PROPERTY_VALUE_MAX}"
    return None


def checksum_problem(checksum: str | None) -> str | None:
    """Altinn's rule: an MD5 hash in lower-case hex, when given at all."""
    if not checksum:
        return None
    if len(checksum) != 32:
        return "The checksum, if used, must be a MD5 hash with a length of 32 characters"
    if checksum.lower() != checksum or not _MD5.match(checksum):
        return "The checksum, if used, must be a MD5 hash in lower case"
    return None


_DURATION = re.compile(
    r"^P(?!$)(?:(?P<days>\d+)D)?(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)
_TIMESPAN = re.compile(r"^(?:(?P<days>\d+)\.)?(?P<hours>\d{1,2}):(?P<minutes>\d{2}):(?P<seconds>\d{2})$")


def parse_duration(text: str) -> timedelta | None:
    """An ISO 8601 duration of days, hours, minutes and seconds (``P30D``, ``PT2H``); also .NET's
    ``d.hh:mm:ss``, which Altinn answers with. None when it is neither."""
    for pattern in (_DURATION, _TIMESPAN):
        match = pattern.match(text.strip())
        if match:
            parts = {k: int(v) for k, v in match.groupdict().items() if v}
            return timedelta(**parts)
    return None


def format_duration(value: timedelta) -> str:
    """ISO 8601, the form a client sends back unchanged."""
    total = int(value.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    time = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    text = "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")
    return text if text != "P" else "PT0S"


MAX_TIME_TO_LIVE = timedelta(days=365)
MAX_GRACE_PERIOD = timedelta(hours=24)
DEFAULT_GRACE_PERIOD = timedelta(hours=2)
DEFAULT_TIME_TO_LIVE = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class ResourceAccess:
    """One organisation's rights on a resource."""

    orgnr: str
    send: bool = True
    receive: bool = True


@dataclass(frozen=True, slots=True)
class ResourceSettings:
    """A resource (Altinn's word for a broker service such as ``kv_dsve``) and its settings.

    An empty access list lets every registered, active participant send and receive on it; otherwise only
    the organisations listed, each with its own rights.
    """

    resource_id: str
    max_file_transfer_size: int | None = None
    time_to_live: timedelta = DEFAULT_TIME_TO_LIVE
    purge_after_all_confirmed: bool = True
    purge_grace_period: timedelta = DEFAULT_GRACE_PERIOD
    use_manifest_file_shim: bool = False
    schema_set: str | None = None
    access: tuple[ResourceAccess, ...] = field(default_factory=tuple)

    def may_send(self, orgnr: str) -> bool:
        return not self.access or any(a.orgnr == orgnr and a.send for a in self.access)

    def may_receive(self, orgnr: str) -> bool:
        return not self.access or any(a.orgnr == orgnr and a.receive for a in self.access)


@dataclass(frozen=True, slots=True)
class RecipientState:
    orgnr: str
    status: RecipientStatus
    status_text: str
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class FileTransfer:
    """One file transfer as stored: its metadata, its current status and each recipient's."""

    id: str
    resource_id: str
    file_name: str
    senders_reference: str
    sender: str
    properties: Mapping[str, str]
    checksum: str | None
    size: int
    status: FileTransferStatus
    status_text: str
    status_changed_at: datetime
    created_at: datetime
    expires_at: datetime
    recipients: tuple[RecipientState, ...]
    upload_length: int | None = None

    def is_party(self, orgnr: str) -> bool:
        return orgnr == self.sender or self.is_recipient(orgnr)

    def is_recipient(self, orgnr: str) -> bool:
        return any(r.orgnr == orgnr for r in self.recipients)

    def recipient(self, orgnr: str) -> RecipientState | None:
        return next((r for r in self.recipients if r.orgnr == orgnr), None)


@dataclass(frozen=True, slots=True)
class StatusEvent:
    status: str
    text: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RecipientEvent:
    recipient: str
    status: str
    text: str
    at: datetime
