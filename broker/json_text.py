"""JSON as the broker writes it: compact UTF-8 from orjson.

Every accepted message costs a JSON answer, an ``accepted`` receipt and its outbox row's headers, so the
encoder is on the hot path: the standard library's pure-Python encoder was ~5 % of a broker process's
thread under load, orjson a tenth of that. Keys that are not strings (a count by integer, say) are written
as strings, as ``json.dumps`` does; non-ASCII text is written as UTF-8, not as ``\\u`` escapes; a
``datetime`` is written as its ``isoformat()`` (the API's times are handed over as they are).
"""

from __future__ import annotations

from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def json_bytes(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON; a type JSON has no form for raises ``TypeError``."""
    return orjson.dumps(value, option=_OPTIONS)


def json_str(value: Any) -> str:
    """``json_bytes`` as text, for a column or an API that takes a string."""
    return json_bytes(value).decode()


def json_value(text: str | bytes) -> Any:
    """The value a JSON text holds (what the store's JSON columns are read with)."""
    return orjson.loads(text)
