"""Structured logs: one JSON object per record, extra fields kept, personal numbers masked."""

from __future__ import annotations

import json
import logging

from broker.logging import JsonFormatter


def test_a_record_is_one_json_line_with_its_fields_and_no_personal_number() -> None:
    fields = {"name": "broker", "levelno": logging.INFO, "levelname": "INFO", "msg": "signed by %s"}
    record = logging.makeLogRecord({**fields, "args": ("01818510078",)})
    record.orgnr = "910000004"
    record.subject = "serialNumber=01818510078,CN=Kari Nordmann"
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "INFO" and entry["logger"] == "broker" and entry["orgnr"] == "910000004"
    assert entry["message"] == "signed by 018185*****"
    assert "01818510078" not in line
