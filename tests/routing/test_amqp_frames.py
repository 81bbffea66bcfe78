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

Publish = tuple[int, str, str, bytes, str, str, dict[str, object], int]


def _pamqp(publish: Publish) -> bytes:
    """What aiormq writes for the publish: pamqp's objects, marshalled (the arguments in ``publish_frames``'s order)."""
    channel, exchange, routing_key, body, message_id, content_type, headers, max_body_frame = publish
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
_KEY = st.text(min_size=1, max_size=20)
_PUBLISHES = st.tuples(
    st.integers(1, 2047),
    _EXCHANGE,
    _SHORT,
    st.binary(max_size=600),
    _SHORT,
    _SHORT,
    st.one_of(st.dictionaries(_KEY, st.text(max_size=80), max_size=6), st.dictionaries(_KEY, _VALUE, max_size=6)),
    st.integers(1, 700),
)


@settings(max_examples=300, deadline=None)
@given(publish=_PUBLISHES)
def test_the_frames_are_the_ones_pamqp_writes(publish: Publish) -> None:
    assert publish_frames(*publish) == _pamqp(publish)


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
