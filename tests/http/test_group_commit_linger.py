"""Under load the group commit lingers before its next batch, so more submissions share a commit; a lone
submission never waits for it."""

from __future__ import annotations

import asyncio

from broker.config import Settings
from broker.usecases.group_commit import GroupCommit
from broker.usecases.submissions import Submission, SubmitResult
from tests.http.conftest import Broker
from tests.http.group_commits import group_commit_on, submission_of

LONG_S = 60.0  # a linger no test waits out: whatever ends it early is what is tested
ANSWER_S = 10.0


async def _submission(broker: Broker) -> Submission:
    return await submission_of(broker, broker.signed("pantedokument"))


async def _batch_of_two(broker: Broker, writer: GroupCommit) -> None:
    """Both are queued before the writer's first turn, so they are one batch: the writer is under load."""
    first = [await _submission(broker) for _ in range(2)]
    outcomes = await asyncio.gather(*(writer.submit(s) for s in first))
    assert all(isinstance(o, SubmitResult) and o.created for o in outcomes)
    assert writer.batches == 1


async def test_lone_submissions_are_stored_at_once_whatever_the_linger(broker: Broker) -> None:
    writer = group_commit_on(broker, linger_s=LONG_S)
    try:
        for count in (1, 2, 3):
            outcome = await asyncio.wait_for(writer.submit(await _submission(broker)), ANSWER_S)
            assert isinstance(outcome, SubmitResult) and outcome.created
            assert writer.batches == count
    finally:
        await writer.stop()


async def test_after_a_batch_of_several_the_next_gathers_until_a_whole_batch_is_queued(broker: Broker) -> None:
    writer = group_commit_on(broker, linger_s=LONG_S, max_batch=3)
    try:
        await _batch_of_two(broker, writer)
        later = [await _submission(broker) for _ in range(3)]
        waiting = [asyncio.create_task(writer.submit(s)) for s in later[:2]]
        await asyncio.sleep(0.05)
        assert writer.batches == 1 and not any(task.done() for task in waiting)  # lingering: two of three queued
        outcomes = await asyncio.wait_for(asyncio.gather(*waiting, writer.submit(later[2])), ANSWER_S)
        assert all(isinstance(o, SubmitResult) and o.created for o in outcomes)
        assert writer.batches == 2 and writer.stored == 5  # the three shared one commit
    finally:
        await writer.stop()


async def test_the_linger_ends_when_its_time_is_up(broker: Broker) -> None:
    writer = group_commit_on(broker, linger_s=0.05)
    try:
        await _batch_of_two(broker, writer)
        outcome = await asyncio.wait_for(writer.submit(await _submission(broker)), ANSWER_S)
        assert isinstance(outcome, SubmitResult) and outcome.created
        assert writer.batches == 2
    finally:
        await writer.stop()


async def test_stopping_ends_a_linger_and_stores_what_waited(broker: Broker) -> None:
    writer = group_commit_on(broker, linger_s=LONG_S)
    await _batch_of_two(broker, writer)
    waiting = asyncio.create_task(writer.submit(await _submission(broker)))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await asyncio.wait_for(writer.stop(), ANSWER_S)
    outcome = await asyncio.wait_for(waiting, ANSWER_S)
    assert isinstance(outcome, SubmitResult) and outcome.created


def test_the_linger_is_configured_in_milliseconds() -> None:
    assert Settings.from_env({}).group_commit_linger_ms == 5.0
    assert Settings.from_env({"DSVE_GROUP_COMMIT_LINGER_MS": "0"}).group_commit_linger_ms == 0.0
    assert Settings.from_env({"DSVE_GROUP_COMMIT_LINGER_MS": "2.5"}).group_commit_linger_ms == 2.5
