"""Group commit keeps the rules of one submission at a time, also for duplicates inside one batch."""

from __future__ import annotations

import asyncio

from broker.domain.errors import Error, Refusal
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.intake import Submission, SubmitResult, store_submissions, verify_submission
from tests.http.conftest import BANK, MEGLER, Broker


async def _submission(broker: Broker, data: bytes, sender: str = BANK) -> Submission:
    services = broker.services
    return Submission(await verify_submission(services, sender, data), services.clock())


async def test_one_batch_answers_repeats_and_conflicts_like_single_submissions(broker: Broker) -> None:
    message_id = "5b0c8d1e-0000-4000-8000-00000000b001"
    first = broker.signed("pantedokument", message_id=message_id)
    other = broker.signed("pantedokument", message_id=message_id, reference="another-case")
    unrelated = broker.signed("intensjonFraBank")
    batch = [await _submission(broker, d) for d in (first, first, other, unrelated)]
    async with UnitOfWork(broker.services.engine) as uow:
        outcomes = await store_submissions(uow, batch, broker.services.settings.message_ttl_s)
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
    again = [await _submission(broker, d) for d in (other, first)]
    async with UnitOfWork(broker.services.engine) as uow:
        later = await store_submissions(uow, again, broker.services.settings.message_ttl_s)
    assert isinstance(later[0], Refusal) and later[0].error is Error.DUPLICATE_MESSAGE_ID
    assert isinstance(later[1], SubmitResult) and not later[1].created
    assert later[1].view.message.id == created.view.message.id


async def test_a_refused_party_does_not_fail_the_rest_of_the_batch(broker: Broker) -> None:
    async with UnitOfWork(broker.services.engine) as uow:
        await uow.participants.set_active(MEGLER, False)
        await uow.commit()
    to_inactive = await _submission(broker, broker.signed("pantedokument"))
    async with UnitOfWork(broker.services.engine) as uow:
        await uow.participants.set_active(MEGLER, True)
        await uow.commit()
    fine = await _submission(broker, broker.signed("pantedokument"))
    async with UnitOfWork(broker.services.engine) as uow:
        await uow.participants.set_active(MEGLER, False)
        outcomes = await store_submissions(uow, [to_inactive, fine], broker.services.settings.message_ttl_s)
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
    writer = broker.services.group_commit
    assert writer is not None and writer.stored == 40
    assert writer.batches < 40  # some submissions shared a transaction


def _message_id(body: bytes) -> str:
    start = body.index(b"<meldingsid>") + len(b"<meldingsid>")
    return body[start : body.index(b"</meldingsid>")].decode()


async def test_the_writer_waits_while_the_outbox_backlog_is_above_high_water(broker: Broker) -> None:
    from broker.usecases.group_commit import GroupCommit

    backlog = {"rows": 5000}
    reads = []

    async def read_backlog() -> int:
        reads.append(backlog["rows"])
        return backlog["rows"]

    writer = GroupCommit(broker.services, backlog=read_backlog, high_water=1000)
    submission = await _submission(broker, broker.signed("intensjonFraBank"))
    pending = asyncio.ensure_future(writer.submit(submission))
    await asyncio.sleep(0.1)
    assert not pending.done()  # held back while the relay is behind
    assert len(reads) >= 3  # the backlog is read again and again while waiting
    backlog["rows"] = 10
    outcome = await asyncio.wait_for(pending, 5)
    assert isinstance(outcome, SubmitResult) and outcome.created
    assert writer.throttled_s >= 0.1
    await writer.stop()


async def test_without_a_high_water_mark_the_writer_never_reads_the_backlog(broker: Broker) -> None:
    from broker.usecases.group_commit import GroupCommit

    async def read_backlog() -> int:
        raise AssertionError("no flow control was asked for")

    writer = GroupCommit(broker.services, backlog=read_backlog, high_water=0)
    outcome = await writer.submit(await _submission(broker, broker.signed("intensjonFraBank")))
    assert isinstance(outcome, SubmitResult) and outcome.created
    await writer.stop()


async def test_intake_reads_the_property_units_off_the_signed_document(broker: Broker) -> None:
    from broker.domain.property_units import UnitRef

    submission = await _submission(broker, broker.signed("pantedokument"))
    assert set(submission.verified.units) == {UnitRef("4601-165-412", 0, 3)}
