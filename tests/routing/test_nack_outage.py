"""Publishes RabbitMQ refuses (nacks while a quorum queue elects a new leader) are one story in the log.

In the soak's leader kill both relays logged a warning per nacked batch, several hundred in ten seconds;
the issue asks for the first occurrence, a count, and the recovery.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

from broker import outage_log
from broker.routing.relay_publish import Publisher
from broker.routing.transport import NACKED, OutgoingMessage, PublishError


class _Refusing:
    """A transport that nacks the first ``refusals`` publishes, then confirms."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.published = 0

    def healthy(self) -> bool:
        return True

    async def ensure_participant(self, orgnr: str) -> None:
        return None

    async def publish(self, batch: Sequence[OutgoingMessage]) -> None:
        if self.refusals > 0:
            self.refusals -= 1
            raise PublishError(dict.fromkeys(range(len(batch)), NACKED))
        self.published += len(batch)


def _refusals_ongoing() -> bool:
    return outage_log.PUBLISHING.ongoing


def _message() -> OutgoingMessage:
    return OutgoingMessage(
        exchange="messages", routing_key="910000004.x", body=b"<a/>", message_id="m1", headers={}, content_type="x"
    )


async def test_nacked_publishes_are_one_outage_with_a_count_then_its_end(caplog: pytest.LogCaptureFixture) -> None:
    transport = _Refusing(refusals=300)
    publisher = Publisher(transport, "relay-1")  # type: ignore[arg-type]
    caplog.set_level(logging.INFO)
    for _ in range(300):
        failed = await publisher.publish([_message()])
        assert failed == {0: NACKED}
        publisher.report_unconfirmed(f"1 of 1 not confirmed: {failed[0]}")
    assert _refusals_ongoing()
    assert await publisher.publish([_message()]) == {}

    assert not _refusals_ongoing()
    assert transport.published == 1
    relay_lines = [r for r in caplog.records if r.name == "broker.routing.relay"]
    assert relay_lines == []
    outage_lines = [r.getMessage() for r in caplog.records if r.name == "broker.outage"]
    assert len(outage_lines) == 2, outage_lines
    assert outage_lines[0].startswith("message queue publishing unavailable: outbox relay: 1 of 1 not confirmed")
    assert outage_lines[1].startswith("message queue publishing available again after")
    assert outage_lines[1].endswith("(300 failures)")


async def test_a_refusal_of_another_kind_is_still_a_warning_of_its_own(caplog: pytest.LogCaptureFixture) -> None:
    publisher = Publisher(_Refusing(refusals=0), "relay-1")  # type: ignore[arg-type]
    caplog.set_level(logging.INFO)
    publisher.report_unconfirmed("1 of 1 not confirmed: unroutable: returned by the server (no queue bound)")
    assert [r.getMessage() for r in caplog.records if r.name == "broker.routing.relay"] == [
        "outbox relay: 1 of 1 not confirmed: unroutable: returned by the server (no queue bound)"
    ]
    assert not _refusals_ongoing()
