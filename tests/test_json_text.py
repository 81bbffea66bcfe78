"""The broker's JSON encoder writes what the standard library would mean, compact and in UTF-8."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from broker.json_text import json_bytes, json_str


@pytest.mark.parametrize(
    "at",
    [
        datetime(2026, 12, 7, 8, 0, 0, tzinfo=UTC),
        datetime(2026, 12, 7, 8, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 12, 7, 8, 0, 0, 5, tzinfo=timezone(timedelta(hours=1))),
        datetime(999, 1, 2, 3, 4, 5, 6),
    ],
)
def test_a_time_is_written_as_its_isoformat(at: datetime) -> None:
    assert json.loads(json_bytes({"at": at})) == {"at": at.isoformat()}


def test_keys_that_are_not_strings_are_written_as_strings() -> None:
    assert json.loads(json_str({1: "a", "b": [1, None, True]})) == json.loads(
        json.dumps({1: "a", "b": [1, None, True]})
    )


def test_text_is_compact_utf_8() -> None:
    assert json_bytes({"navn": "Ærlig Østby Å"}) == '{"navn":"Ærlig Østby Å"}'.encode()


def test_a_value_json_has_no_form_for_is_refused() -> None:
    with pytest.raises(TypeError):
        json_bytes({"x": object()})
