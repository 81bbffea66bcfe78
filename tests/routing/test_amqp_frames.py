"""The publish frames written by hand are byte for byte the frames pamqp writes for the same publish."""

from __future__ import annotations

import string

import pytest
from aiormq.abc import ChannelFrame
from hypothesis import given, settings
from hypothesis import strategies as st
from pamqp import commands, frame
from pamqp.body import ContentBody
from pamqp.header import ContentHeader

from broker.routing.amqp_frames import header_table, publish_frames


def _pamqp(
    channel: int,
    exchange: str,
    routing_key: str,
    body: bytes,
    message_id: str,
    content_type: str,
    headers: dict[str, object],
    max_body_frame: int,
) -> bytes:
    properties = commands.Basic.Properties(
        message_id=message_id, content_type=content_type, delivery_mode=2, headers=headers
    )
    chunks = [body[at : at + max_body_frame] for at in range(0, len(body), max_body_frame)]
    frames = [
        commands.Basic.Publish(exchange=exchange, routing_key=routing_key, mandatory=True),
        ContentHeader(properties=properties, body_size=len(body)),
        *(ContentBody(chunk) for chunk in chunks),
    ]
    return ChannelFrame.marshall(channel_number=channel, frames=frames).payload  # type: ignore[arg-type]


_SHORT = st.text(max_size=60)
_EXCHANGE = st.text(alphabet=string.ascii_letters + string.digits + "-_.:", max_size=60)
_VALUE = st.one_of(st.text(max_size=80), st.integers(-(2**40), 2**40), st.booleans(), st.none())


@settings(max_examples=300, deadline=None)
@given(
    channel=st.integers(1, 2047),
    exchange=_EXCHANGE,
    routing_key=_SHORT,
    body=st.binary(max_size=600),
    message_id=_SHORT,
    content_type=_SHORT,
    headers=st.one_of(
        st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=80), max_size=6),
        st.dictionaries(st.text(min_size=1, max_size=20), _VALUE, max_size=6),
    ),
    max_body_frame=st.integers(1, 700),
)
def test_the_frames_are_the_ones_pamqp_writes(
    channel: int,
    exchange: str,
    routing_key: str,
    body: bytes,
    message_id: str,
    content_type: str,
    headers: dict[str, object],
    max_body_frame: int,
) -> None:
    args = (channel, exchange, routing_key, body, message_id, content_type, headers, max_body_frame)
    assert publish_frames(*args) == _pamqp(*args)


def test_a_typical_publish_reads_back_as_sent() -> None:
    headers = {"message-type": "pantedokument", "sender": "910000004", "sender-reference": "sak-1 æøå"}
    data = publish_frames(
        5, "dsve.messages", "930000000.pantedokument", b"<a/>" * 40, "id-1", "application/xml", headers, 64
    )
    read: list[object] = []
    while data:
        consumed, channel, value = frame.unmarshal(data)
        assert channel == 5
        read.append(value)
        data = data[consumed:]
    publish, header, *bodies = read
    assert isinstance(publish, commands.Basic.Publish)
    assert (publish.exchange, publish.routing_key, publish.mandatory) == (
        "dsve.messages",
        "930000000.pantedokument",
        True,
    )
    assert isinstance(header, ContentHeader) and header.body_size == 160
    assert header.properties.headers == headers
    assert (header.properties.delivery_mode, header.properties.message_id) == (2, "id-1")
    assert b"".join(b.value for b in bodies if isinstance(b, ContentBody)) == b"<a/>" * 40
    assert len(bodies) == 3


def test_a_short_string_over_255_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="255 bytes"):
        publish_frames(1, "x", "k" * 256, b"", "id", "application/xml", {}, 100)


def test_a_table_with_other_values_is_left_to_pamqp() -> None:
    from pamqp import encode

    headers: dict[str, object] = {"count": 3, "name": "n", "flag": True}
    assert header_table(headers) == encode.field_table(headers)  # type: ignore[arg-type]
