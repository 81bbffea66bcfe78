"""Structured logs: one JSON object per line, so a log shipper can index fields without parsing prose.

Only what the code puts in ``extra`` becomes a field; request bodies and personal numbers are never
logged, and anything that looks like an 11-digit personal number in a message is masked before it is
written, as a last line of defence.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from broker.domain.identifiers import mask_fodselsnummer

# Attributes every LogRecord has; anything else on a record came from ``extra`` and is a field.
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")


def _mask(text: str) -> str:
    return _ELEVEN_DIGITS.sub(lambda match: mask_fodselsnummer(match.group(0)), text)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line with time, level, logger, message and the ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": _mask(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = _mask(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = _mask(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    """Send the root logger's records to stderr as JSON lines; replaces handlers set before."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
