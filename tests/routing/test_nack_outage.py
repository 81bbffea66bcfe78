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
    """A transport that nacks every publish while ``refusing``, and confirms the others."""

    def __init__(self, refusing: bool) -> None:
        self.refusing = refusing
        self.published = 0

    def healthy(self) -> bool:
        return True

    async def ensure_participant(self, orgnr: str) -> None:
        return None

    async def publish(self, batch: Sequence[OutgoingMessage]) -> None:
        if self.refusing:
            raise PublishError(dict.fromkeys(range(len(batch)), NACKED))
        self.published += len(batch)


def _refusals_ongoing() -> bool:
    return outage_log.PUBLISHING.ongoing


def _message() -> OutgoingMessage:
    return OutgoingMessage(
        exchange="messages", routing_key="910000004.x", body=b"<a/>", message_id="m1", headers={}, content_type="x"
    )


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    """The publishing outage log on a clock the test moves (and a fresh one: no state from other tests)."""
    clock = _Clock()
    fresh = outage_log.OutageLog("message queue publishing", quiet_before_end_s=2.0, clock=clock)
    monkeypatch.setattr(outage_log, "PUBLISHING", fresh)
    return clock


async def test_nacked_publishes_are_one_outage_with_a_count_then_its_end(
    caplog: pytest.LogCaptureFixture, clock: _Clock
) -> None:
    transport = _Refusing(refusing=True)
    publisher = Publisher(transport, "relay-1")  # type: ignore[arg-type]
    caplog.set_level(logging.INFO)
    for attempt in range(300):
        if attempt % 3 == 2:  # publishes to queues that have a leader get through meanwhile
            transport.refusing = False
            assert await publisher.publish([_message()]) == {}
            transport.refusing = True
        failed = await publisher.publish([_message()])
        assert failed == {0: NACKED}
        publisher.report_unconfirmed(f"1 of 1 not confirmed: {failed[0]}")
        clock.now += 0.03
    assert _refusals_ongoing()
    transport.refusing = False
    assert await publisher.publish([_message()]) == {}
    assert _refusals_ongoing()  # too soon after the last refusal to call it over
    clock.now += 2.0
    assert await publisher.publish([_message()]) == {}

    assert not _refusals_ongoing()
    assert transport.published == 100 + 2
    relay_lines = [r for r in caplog.records if r.name == "broker.routing.relay"]
    assert relay_lines == []
    outage_lines = [r.getMessage() for r in caplog.records if r.name == "broker.outage"]
    assert len(outage_lines) == 2, outage_lines
    assert outage_lines[0].startswith("message queue publishing unavailable: outbox relay: 1 of 1 not confirmed")
    assert outage_lines[1].startswith("message queue publishing available again after")
    assert outage_lines[1].endswith("(300 failures)")


async def test_a_refusal_of_another_kind_is_still_a_warning_of_its_own(
    caplog: pytest.LogCaptureFixture, clock: _Clock
) -> None:
    publisher = Publisher(_Refusing(refusing=False), "relay-1")  # type: ignore[arg-type]
    caplog.set_level(logging.INFO)
    publisher.report_unconfirmed("1 of 1 not confirmed: unroutable: returned by the server (no queue bound)")
    assert [r.getMessage() for r in caplog.records if r.name == "broker.routing.relay"] == [
        "outbox relay: 1 of 1 not confirmed: unroutable: returned by the server (no queue bound)"
    ]
    assert not _refusals_ongoing()
