"""The AMQP 0-9-1 frames of one persistent, mandatory ``basic.publish``, encoded in a few ``struct`` calls.

pamqp encodes a publish generically: it builds a ``Basic.Publish``, a ``Basic.Properties`` and a
``ContentHeader`` object, validates them and walks every slot of each to find its type, then the headers
table value by value. That came to 5 % of the broker's event-loop CPU at full load (pg1), for frames whose
shape never changes here: a method frame, a header frame with content type, headers, delivery mode and
message id, and the body frames. This module writes those bytes directly. It produces exactly what pamqp
produces for the same publish (``tests/routing/test_amqp_frames.py`` compares them on generated publishes)
and leaves every header table that holds anything but strings to pamqp's own encoder.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

from pamqp import encode

_FRAME = struct.Struct(">BHI")  # frame type, channel, payload size
_FRAME_END = b"\xce"
_METHOD, _HEADER, _BODY = 1, 2, 3
_BASIC = 60
_PUBLISH_METHOD = struct.Struct(">HHH").pack(_BASIC, 40, 0)  # class, method, the reserved "ticket"
_MANDATORY = b"\x01"  # the bits octet: mandatory set, immediate clear
_HEADER_START = struct.Struct(">HHQH")  # class, weight, body size, property flags
_LONG = struct.Struct(">I")

# The property flags of ``Basic.Properties`` used here (AMQP 0-9-1, basic class).
_CONTENT_TYPE, _HEADERS, _DELIVERY_MODE, _MESSAGE_ID = 0x8000, 0x2000, 0x1000, 0x0080
_PERSISTENT = b"\x02"
_MAX_KEY = 128  # pamqp truncates longer table keys (with a warning): left to it


def _short_string(text: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > 255:
        raise ValueError(f"an AMQP short string holds at most 255 bytes, not {len(raw)}")
    return _short_bytes(raw)


def _short_bytes(raw: bytes) -> bytes:
    """An AMQP short string of bytes already encoded and known to fit (at most 255)."""
    return bytes((len(raw),)) + raw


def _frame(kind: int, channel: int, payload: bytes) -> bytes:
    return _FRAME.pack(kind, channel, len(payload)) + payload + _FRAME_END


def header_table(headers: Mapping[str, object]) -> bytes:
    """A field table of string values as pamqp encodes it (keys sorted, each value a long string 'S')."""
    parts: list[bytes] = []
    for key, value in sorted(headers.items()):
        name = key.encode("utf-8")
        if not isinstance(value, str) or len(name) > _MAX_KEY:
            return encode.field_table(dict(headers))  # type: ignore[arg-type]
        raw = value.encode("utf-8")
        parts.append(_short_bytes(name) + b"S" + _LONG.pack(len(raw)) + raw)
    table = b"".join(parts)
    return _LONG.pack(len(table)) + table


def publish_frames(
    channel: int,
    exchange: str,
    routing_key: str,
    body: bytes,
    message_id: str,
    content_type: str,
    headers: Mapping[str, object],
    max_body_frame: int,
) -> bytes:
    """The method, header and body frames of one persistent, mandatory publish, ready for the socket.

    ``max_body_frame`` is the largest body frame payload the connection negotiated (aiormq's
    ``max_content_size``); a longer body is split over several frames, as pamqp and aiormq split it."""
    method = _PUBLISH_METHOD + _short_string(exchange) + _short_string(routing_key) + _MANDATORY
    flags = _HEADERS | _DELIVERY_MODE
    properties = []
    if content_type:
        flags |= _CONTENT_TYPE
        properties.append(_short_string(content_type))
    properties.append(header_table(headers))
    properties.append(_PERSISTENT)
    if message_id:
        flags |= _MESSAGE_ID
        properties.append(_short_string(message_id))
    header = _HEADER_START.pack(_BASIC, 0, len(body), flags) + b"".join(properties)
    frames = [_frame(_METHOD, channel, method), _frame(_HEADER, channel, header)]
    if len(body) < max_body_frame:
        if body:
            frames.append(_frame(_BODY, channel, body))
    else:
        frames.extend(
            _frame(_BODY, channel, body[at : at + max_body_frame]) for at in range(0, len(body), max_body_frame)
        )
    return b"".join(frames)
