"""The numbered error catalogue.

Every refusal the broker can give has a stable number, an HTTP status and a problem ``type`` URI
(RFC 9457). Clients branch on the number or the type, never on the wording, so wording may improve
without breaking anyone.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

PROBLEM_BASE = "https://dsve.no/problems/"

# The records here are named tuples and plain classes, not dataclasses: ``dsve validate`` imports this module
# and little else, and the ``dataclasses`` module with the methods it generates for each record was 7-10 ms
# of the ~24 ms the command added to the interpreter's start-up (tests/xml/test_cli_validate.py keeps it out).


class ErrorSpec(NamedTuple):
    number: int
    slug: str
    status: int
    title: str

    @property
    def type_uri(self) -> str:
        return f"{PROBLEM_BASE}{self.slug}"

    @property
    def code(self) -> str:
        return f"DSVE-{self.number}"


class Error(enum.Enum):
    """Refusals by number. 1xxx request form, 2xxx XML, 3xxx signature, 4xxx routing, 5xxx auth, 6xxx state,
    7xxx outages (the broker cannot answer now; the same request may succeed later), 9xxx the broker's own failure."""

    MALFORMED_REQUEST = ErrorSpec(1001, "malformed-request", 400, "The request is malformed")
    NOT_XML = ErrorSpec(1002, "unsupported-media-type", 415, "The body must be application/xml")
    TOO_LARGE = ErrorSpec(1003, "payload-too-large", 413, "The body exceeds the size limit")
    NOT_FOUND = ErrorSpec(1004, "not-found", 404, "No such resource")
    BODY_TIMEOUT = ErrorSpec(1005, "request-timeout", 408, "The request body did not arrive in time")
    CLIENT_CLOSED = ErrorSpec(1006, "client-closed-request", 400, "The client closed the connection mid-request")
    XML_NOT_WELL_FORMED = ErrorSpec(2001, "xml-not-well-formed", 400, "The body is not well-formed XML")
    XML_FORBIDDEN_CONSTRUCT = ErrorSpec(2002, "xml-forbidden-construct", 400, "The XML uses a forbidden construct")
    XML_LIMIT_EXCEEDED = ErrorSpec(2003, "xml-limit-exceeded", 413, "The XML exceeds a structural limit")
    UNKNOWN_MESSAGE_TYPE = ErrorSpec(2004, "unknown-message-type", 422, "The root element is no known message type")
    SCHEMA_INVALID = ErrorSpec(2005, "schema-invalid", 422, "The message does not match its schema")
    RULE_VIOLATION = ErrorSpec(2006, "rule-violation", 422, "The message breaks a content rule")
    # Comments are dropped while parsing (every reader sees a value whole, as the schema and c14n do);
    # processing instructions inside the document element are refused: c14n signs them, no message uses one.
    XML_PROCESSING_INSTRUCTION = ErrorSpec(
        2007, "xml-processing-instruction", 400, "Processing instructions are not accepted inside the document"
    )
    SIGNATURE_MISSING = ErrorSpec(3001, "signature-missing", 422, "The message is not signed")
    SIGNATURE_INVALID = ErrorSpec(3002, "signature-invalid", 422, "The signature does not verify")
    CERTIFICATE_UNTRUSTED = ErrorSpec(3003, "certificate-untrusted", 422, "The certificate is not trusted")
    CERTIFICATE_EXPIRED = ErrorSpec(3004, "certificate-expired", 422, "The certificate is outside its validity")
    SIGNER_MISMATCH = ErrorSpec(3005, "signer-mismatch", 422, "The signer is not the message's sender")
    SIGNER_MISSING = ErrorSpec(3006, "signer-missing", 422, "An inner document is not signed by everyone it names")
    SENDER_NOT_CALLER = ErrorSpec(4001, "sender-not-caller", 403, "The sender is not the authenticated caller")
    UNKNOWN_PARTICIPANT = ErrorSpec(4002, "unknown-participant", 422, "The sender or recipient is not registered")
    PARTICIPANT_INACTIVE = ErrorSpec(4003, "participant-inactive", 422, "The sender or recipient is not active")
    WRONG_ROLE = ErrorSpec(4004, "wrong-role", 422, "The participant's role may not send or receive this type")
    NOT_CAPABLE = ErrorSpec(4005, "not-capable", 422, "The participant cannot send or receive this type")
    DUPLICATE_MESSAGE_ID = ErrorSpec(4006, "duplicate-message-id", 409, "The message id was used for other content")
    NOT_RECIPIENT = ErrorSpec(4007, "not-recipient", 403, "Only the message's recipient may do this")
    TOKEN_MISSING = ErrorSpec(5001, "token-missing", 401, "No access token")
    TOKEN_INVALID = ErrorSpec(5002, "token-invalid", 401, "The token is invalid or expired")
    TOKEN_REPLAYED = ErrorSpec(5003, "token-replayed", 401, "The grant's jti was used before")
    SCOPE_MISSING = ErrorSpec(5004, "insufficient-scope", 403, "The token lacks the needed scope")
    INVALID_GRANT = ErrorSpec(5005, "invalid-grant", 400, "The token grant is invalid")
    INVALID_TRANSITION = ErrorSpec(6001, "invalid-transition", 409, "The message cannot take that status now")
    STORE_UNAVAILABLE = ErrorSpec(7001, "store-unavailable", 503, "The broker's database is unavailable")
    QUEUE_UNAVAILABLE = ErrorSpec(7002, "queue-unavailable", 503, "The broker's message queue is unavailable")
    # File transfers (the Altinn 3 Broker-compatible API); the detail is Altinn's wording where it has one.
    FILE_TRANSFER_INVALID = ErrorSpec(8001, "file-transfer-invalid", 400, "The file transfer request is invalid")
    FILE_TRANSFER_NOT_FOUND = ErrorSpec(8002, "file-transfer-not-found", 404, "The file transfer was not found")
    NO_ACCESS_TO_RESOURCE = ErrorSpec(8003, "no-access-to-resource", 403, "No access to the resource")
    RESOURCE_NOT_CONFIGURED = ErrorSpec(8004, "resource-not-configured", 403, "The resource is not configured")
    ALREADY_UPLOADED = ErrorSpec(8005, "file-transfer-already-uploaded", 409, "The file was uploaded already")
    FILE_SIZE_TOO_BIG = ErrorSpec(8006, "file-size-too-big", 400, "File size exceeds maximum")
    CHECKSUM_MISMATCH = ErrorSpec(8007, "checksum-mismatch", 400, "The checksum does not match")
    PAYLOAD_INVALID = ErrorSpec(8008, "payload-invalid", 400, "The file breaks its resource's schema set")
    UPLOAD_FAILED = ErrorSpec(8009, "upload-failed", 400, "The upload failed")
    FILE_NOT_AVAILABLE = ErrorSpec(8010, "file-transfer-not-available", 403, "The file is not ready for download")
    NOT_PUBLISHED = ErrorSpec(8011, "file-transfer-not-published", 400, "The file transfer is not published")
    CONFIRM_BEFORE_DOWNLOAD = ErrorSpec(8012, "confirm-before-download", 400, "Download the file before confirming")
    RANGE_NOT_SATISFIABLE = ErrorSpec(8013, "range-not-satisfiable", 416, "The range is not satisfiable")
    TUS_OFFSET_MISMATCH = ErrorSpec(8014, "tus-offset-mismatch", 409, "Upload-Offset is not the current offset")
    TUS_UNSUPPORTED = ErrorSpec(8015, "tus-unsupported-version", 412, "This TUS version is not supported")
    UNSUPPORTED_MEDIA_TYPE = ErrorSpec(8016, "unsupported-content-type", 415, "The content type is not accepted")
    FILE_STORE_UNAVAILABLE = ErrorSpec(8017, "file-store-unavailable", 503, "The file store is not available")
    INTERNAL_ERROR = ErrorSpec(9000, "internal-error", 500, "Internal error")

    @property
    def spec(self) -> ErrorSpec:
        return self.value


class Issue(NamedTuple):
    """One problem found in a document: where it is and what is wrong.

    Line and column are 1-based positions in the submitted bytes (0 when unknown); ``path`` is a readable
    element path such as ``/pantedokument/pant/beloep``.
    """

    message: str
    line: int = 0
    column: int = 0
    path: str = ""
    code: str = ""
    file: str = ""  # the part of a file transfer's payload (a ZIP entry) the issue is in, when there are parts

    def as_dict(self) -> dict[str, object]:
        found: dict[str, object] = {"file": self.file} if self.file else {}
        found.update(line=self.line, column=self.column, path=self.path, message=self.message, code=self.code)
        return found


class Refusal(Exception):
    """A use case's refusal: an error from the catalogue, a precise detail and the issues found."""

    __slots__ = ("detail", "error", "issues")

    def __init__(self, error: Error, detail: str = "", issues: list[Issue] | None = None) -> None:
        super().__init__()
        self.error = error
        self.detail = detail
        self.issues: list[Issue] = [] if issues is None else issues

    def __str__(self) -> str:
        return f"{self.error.spec.code} {self.error.spec.title}: {self.detail}"

    def __repr__(self) -> str:
        return f"Refusal(error={self.error!r}, detail={self.detail!r}, issues={self.issues!r})"


class Unavailable(Exception):
    """A service the broker needs is away. Whether a write went through before it left cannot always be
    known, so the answer says to send the same request again after ``retry_after_s``: a repeated
    submission of the same document is answered with the stored message, never stored twice."""

    __slots__ = ("detail", "error", "retry_after_s")

    def __init__(self, error: Error, detail: str = "", retry_after_s: int = 5) -> None:
        super().__init__()
        self.error = error
        self.detail = detail
        self.retry_after_s = retry_after_s

    def __str__(self) -> str:
        return f"{self.error.spec.code} {self.error.spec.title}: {self.detail}"

    def __repr__(self) -> str:
        return f"Unavailable(error={self.error!r}, detail={self.detail!r}, retry_after_s={self.retry_after_s!r})"


def store_unavailable() -> Unavailable:
    return Unavailable(
        Error.STORE_UNAVAILABLE, "The database cannot be reached now; send the same request again later."
    )


def queue_unavailable() -> Unavailable:
    return Unavailable(
        Error.QUEUE_UNAVAILABLE,
        "The message queue is unavailable and the broker's backlog is full; send the same request again later.",
    )
