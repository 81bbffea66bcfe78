"""Group commit keeps the rules of one submission at a time, also for duplicates inside one batch."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from broker.app_keys import RELAY
from broker.domain.errors import Error, Refusal, Unavailable
from broker.store import tables
from broker.store.unit_of_work import UnitOfWork
from broker.usecases import group_commit
from broker.usecases.group_commit import GroupCommit
from broker.usecases.storing import store_submissions
from broker.usecases.submissions import SubmitResult
from tests.http.conftest import BANK, MEGLER, Broker
from tests.http.group_commits import group_commit_on, submission_of


async def test_one_batch_answers_repeats_and_conflicts_like_single_submissions(broker: Broker) -> None:
    message_id = "5b0c8d1e-0000-4000-8000-00000000b001"
    first = broker.signed("pantedokument", message_id=message_id)
    other = broker.signed("pantedokument", message_id=message_id, reference="another-case")
    unrelated = broker.signed("intensjonFraBank")
    batch = [await submission_of(broker, d) for d in (first, first, other, unrelated)]
    async with UnitOfWork(broker.services.engine) as uow:
        outcomes = (await store_submissions(uow, batch, broker.services.settings.message_ttl_s)).outcomes
        await uow.commit()
    created, repeat, conflict, fresh = outcomes
    assert isinstance(created, SubmitResult) and created.created
    assert isinstance(repeat, SubmitResult) and not repeat.created
    assert repeat.view.message.id == created.view.message.id
    assert isinstance(conflict, Refusal) and conflict.error is Error.DUPLICATE_MESSAGE_ID
    assert isinstance(fresh, SubmitResult) and fresh.created
    async with UnitOfWork(broker.services.engine) as uow:
        stored = await uow.messages.find_by_sender_message_id(BANK, message_id)
        assert stored is not None and stored.id == created.view.message.id
        assert len(await uow.history.for_message(stored.id)) == 1

    # A later batch: the stored message is repeated (200) or conflicted (409), never stored twice.
    again = [await submission_of(broker, d) for d in (other, first)]
    async with UnitOfWork(broker.services.engine) as uow:
        later = (await store_submissions(uow, again, broker.services.settings.message_ttl_s)).outcomes
    assert isinstance(later[0], Refusal) and later[0].error is Error.DUPLICATE_MESSAGE_ID
    assert isinstance(later[1], SubmitResult) and not later[1].created
    assert later[1].view.message.id == created.view.message.id


async def test_a_refused_party_does_not_fail_the_rest_of_the_batch(broker: Broker) -> None:
    async with UnitOfWork(broker.services.engine) as uow:
        await uow.participants.set_active(MEGLER, False)
        await uow.commit()
    to_inactive = await submission_of(broker, broker.signed("pantedokument"))
    async with UnitOfWork(broker.services.engine) as uow:
        await uow.participants.set_active(MEGLER, True)
        await uow.commit()
    fine = await submission_of(broker, broker.signed("pantedokument"))
    async with UnitOfWork(broker.services.engine) as uow:
        await uow.participants.set_active(MEGLER, False)
        outcomes = (await store_submissions(uow, [to_inactive, fine], broker.services.settings.message_ttl_s)).outcomes
    assert all(isinstance(o, Refusal) and o.error is Error.PARTICIPANT_INACTIVE for o in outcomes)


async def test_concurrent_submissions_over_http_share_commits_and_keep_every_answer(broker: Broker) -> None:
    headers = await broker.headers(BANK, **{"Content-Type": "application/xml"})
    bodies = [broker.signed("pantedokument") for _ in range(40)]
    repeated = bodies[0]
    clash = broker.signed("pantedokument", message_id=_message_id(repeated), reference="clash")

    async def post(body: bytes) -> int:
        response = await broker.client.post("/api/v1/messages", data=body, headers=headers)
        await response.read()
        return response.status

    statuses = await asyncio.gather(*(post(b) for b in [*bodies, repeated]))
    assert statuses[1:40] == [201] * 39
    assert sorted((statuses[0], statuses[40])) == [200, 201]  # whichever came first was stored
    assert await post(clash) == 409
    writer = broker.services.writer
    assert isinstance(writer, GroupCommit) and writer.stored == 40
    assert writer.batches < 40  # some submissions shared a transaction


def _message_id(body: bytes) -> str:
    start = body.index(b"<meldingsid>") + len(b"<meldingsid>")
    return body[start : body.index(b"</meldingsid>")].decode()


async def test_the_writer_waits_while_the_outbox_backlog_is_above_high_water(broker: Broker) -> None:
    backlog = {"rows": 5000}
    reads = []
    read_three_times = asyncio.Event()

    async def read_backlog() -> int:
        reads.append(backlog["rows"])
        if len(reads) >= 3:
            read_three_times.set()
        return backlog["rows"]

    writer = group_commit_on(broker, backlog=read_backlog, high_water=1000)
    submission = await submission_of(broker, broker.signed("intensjonFraBank"))
    pending = asyncio.ensure_future(writer.submit(submission))
    # Every reading so far was above the mark, so the writer has stored nothing: however slow the machine,
    # three readings are three chances it had to go ahead, and it did not.
    await read_three_times.wait()
    assert not pending.done()  # held back while the relay is behind
    assert reads[:3] == [5000, 5000, 5000]
    backlog["rows"] = 10
    outcome = await pending
    assert isinstance(outcome, SubmitResult) and outcome.created
    assert reads[-1] == 10  # it went ahead on a reading below the mark
    assert writer.throttled_s > 0
    await writer.stop()


async def test_far_below_the_mark_an_idle_writer_reads_the_backlog_again_when_a_submission_comes(
    broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(group_commit, "BACKLOG_CHECK_S", 0.01)
    monkeypatch.setattr(group_commit, "BACKLOG_FAR_S", 0.01)
    monkeypatch.setattr(group_commit, "BACKLOG_IDLE_S", 3600.0)
    reads = []
    read = asyncio.Event()

    async def read_backlog() -> int:
        reads.append(0)
        read.set()
        return 0

    writer = group_commit_on(broker, backlog=read_backlog, high_water=1000)
    await writer.submit(await submission_of(broker, broker.signed("intensjonFraBank")))
    await asyncio.sleep(0.3)  # thirty check intervals with nothing submitted
    idle = len(reads)
    assert idle <= 2  # the first reading, and at most one after the submission it was woken by
    read.clear()
    await writer.submit(await submission_of(broker, broker.signed("intensjonFraBank")))
    await read.wait()  # woken by the submission, not by the hour-long idle wait
    assert len(reads) > idle
    await writer.stop()


async def test_far_below_the_mark_the_rows_a_writer_stores_bring_the_next_reading_forward(
    broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Readings an hour apart, but a mark of 8: half of it is two messages' rows (each writes two).
    monkeypatch.setattr(group_commit, "BACKLOG_FAR_S", 3600.0)
    monkeypatch.setattr(group_commit, "BACKLOG_CHECK_S", 3600.0)
    monkeypatch.setattr(group_commit, "BACKLOG_IDLE_S", 3600.0)
    reads: list[int] = []
    read_again = asyncio.Event()

    async def read_backlog() -> int:
        reads.append(0)
        if len(reads) > 1:
            read_again.set()
        return 0

    writer = group_commit_on(broker, backlog=read_backlog, high_water=8)
    await writer.submit(await submission_of(broker, broker.signed("intensjonFraBank")))
    await asyncio.sleep(0.05)
    assert reads == [0]  # one message's two rows leave room below half the mark: no reading yet
    await writer.submit(await submission_of(broker, broker.signed("intensjonFraBank")))
    async with asyncio.timeout(5):
        await read_again.wait()  # the second message used the room up: read now, not in an hour
    await writer.stop()


async def test_without_a_high_water_mark_the_writer_never_reads_the_backlog(broker: Broker) -> None:
    async def read_backlog() -> int:
        raise AssertionError("no flow control was asked for")

    writer = group_commit_on(broker, backlog=read_backlog, high_water=0)
    outcome = await writer.submit(await submission_of(broker, broker.signed("intensjonFraBank")))
    assert isinstance(outcome, SubmitResult) and outcome.created
    await writer.stop()


async def test_intake_reads_the_property_units_off_the_signed_document(broker: Broker) -> None:
    from broker.domain.property_units import UnitRef

    submission = await submission_of(broker, broker.signed("pantedokument"))
    assert set(submission.verified.units) == {UnitRef("4601-165-412", 0, 3)}


class _RecordingHandOver:
    """Stands in for the relay: records what the group commit hands over, publishes nothing."""

    def __init__(self, lease: timedelta, owner: str) -> None:
        self.lease = lease
        self.lease_owner = owner
        self.rows: list = []

    def lease_until(self) -> datetime:
        return datetime.now(UTC) + self.lease

    def publish_leased(self, rows) -> None:
        self.rows.extend(rows)


async def _outbox(broker: Broker) -> list:
    async with broker.services.engine.connect() as conn:
        return list(await conn.execute(sa.select(tables.outbox).order_by(tables.outbox.c.id)))


async def test_new_outbox_rows_go_to_the_relay_leased_and_it_publishes_them(broker: Broker) -> None:
    from broker.app_keys import RELAY

    services = broker.services
    relay = broker.client.app[RELAY]
    recorder = _RecordingHandOver(timedelta(seconds=60), relay.lease_owner)
    writer = group_commit_on(broker, hand_over=recorder)
    outcome = await writer.submit(await submission_of(broker, broker.signed("intensjonFraBank")))
    await writer.stop()
    assert isinstance(outcome, SubmitResult) and outcome.created
    rows = await _outbox(broker)
    assert [(r.kind, r.attempts) for r in rows] == [("message", 1), ("event", 1)]
    assert all(r.lease_until is not None for r in rows)
    assert all(r.leased_by == relay.lease_owner for r in rows)  # a relay that stops beating loses them
    assert [(r.outbox_id, r.kind) for r in recorder.rows] == [(r.id, r.kind) for r in rows]
    relay.notify()
    await asyncio.sleep(0.3)
    assert await relay.backlog() == 2  # leased: the claim loop leaves them to the relay they were handed to

    relay.publish_leased(recorder.rows)
    for _ in range(100):
        if await relay.backlog() == 0:
            break
        await asyncio.sleep(0.05)
    assert await relay.backlog() == 0
    async with UnitOfWork(services.engine) as uow:
        stored = await uow.messages.get(outcome.view.message.id, with_content=False)
    assert stored is not None and stored.status.value == "published"


async def test_rows_handed_over_but_never_published_are_claimed_after_their_lease(broker: Broker) -> None:
    from broker.app_keys import RELAY

    relay = broker.client.app[RELAY]
    writer = group_commit_on(broker, hand_over=_RecordingHandOver(timedelta(seconds=-1), "gone"))  # a relay that died
    outcome = await writer.submit(await submission_of(broker, broker.signed("intensjonFraBank")))
    await writer.stop()
    relay.notify()
    for _ in range(100):
        if await relay.backlog() == 0:
            break
        await asyncio.sleep(0.05)
    assert await relay.backlog() == 0
    assert await _outbox(broker) == []  # claimed by the live relay once the lease ran out, and published
    assert isinstance(outcome, SubmitResult)
    async with UnitOfWork(broker.services.engine) as uow:
        stored = await uow.messages.get(outcome.view.message.id, with_content=False)
    assert stored is not None and stored.status.value == "published"


async def test_rows_leased_to_a_relay_that_stopped_beating_are_taken_over_within_seconds(broker: Broker) -> None:
    relay = broker.client.app[RELAY]
    # Leased for a day to a relay that never beats (a process killed right after its commit): the rows are
    # published only if the others see it stopped beating and take them over, long before the lease ends.
    writer = group_commit_on(broker, hand_over=_RecordingHandOver(timedelta(days=1), "killed-process"))
    await writer.submit(await submission_of(broker, broker.signed("intensjonFraBank")))
    await writer.stop()
    for _ in range(600):  # a bound for a broken build, far below the lease; how soon is for bench/
        if await relay.backlog() == 0:
            break
        await asyncio.sleep(0.1)
    assert await relay.backlog() == 0
    assert await _outbox(broker) == []  # taken over and published, a day before the lease would have ended


async def test_rows_of_a_batch_whose_commit_answer_was_lost_go_out_when_the_database_answers(
    broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failover in the middle of the commit: stored, but the broker saw the connection drop. Its rows are
    leased to the relay that never got them; they are released at once instead of waiting out the lease."""
    relay = broker.client.app[RELAY]
    real_store = group_commit.store_submissions

    async def stored_then_connection_lost(uow: UnitOfWork, *args: object, **kwargs: object) -> object:
        await real_store(uow, *args, **kwargs)  # type: ignore[arg-type]
        await uow.commit()
        raise ConnectionResetError("connection reset by peer")

    monkeypatch.setattr(group_commit, "store_submissions", stored_then_connection_lost)
    writer = group_commit_on(broker, hand_over=relay)
    with pytest.raises(Unavailable) as refused:
        await writer.submit(await submission_of(broker, broker.signed("intensjonFraBank")))
    assert refused.value.error is Error.STORE_UNAVAILABLE  # 503: the client sends it again, answered as a repeat
    await writer.stop()
    rows = await _outbox(broker)
    assert len(rows) == 2 and all(r.leased_by in (relay.lease_owner, None) for r in rows)
    for _ in range(100):  # a bound for a broken build, far below the 30 s lease
        if await relay.backlog() == 0:
            break
        await asyncio.sleep(0.1)
    assert await relay.backlog() == 0
    assert await _outbox(broker) == []  # published rows leave the queue


async def test_a_cancelled_submitter_leaves_its_batch_stored_and_answered(broker: Broker) -> None:
    writer = group_commit_on(broker)
    leaving = await submission_of(broker, broker.signed("intensjonFraBank"))
    staying = await submission_of(broker, broker.signed("intensjonFraBank"))
    try:
        left = asyncio.create_task(writer.submit(leaving))
        stays = asyncio.create_task(writer.submit(staying))
        await asyncio.sleep(0)  # both queued, the writer not yet run
        left.cancel()
        outcome = await stays
        assert isinstance(outcome, SubmitResult) and outcome.created
        with pytest.raises(asyncio.CancelledError):
            await left
        assert writer.stored == 2  # the one whose request went away is stored all the same
    finally:
        await writer.stop()
