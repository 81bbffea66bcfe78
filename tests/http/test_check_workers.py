"""Check worker processes answer exactly what the broker's own checks answer, and never cost a submission."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import pickle
import signal
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from broker.app import create_app
from broker.app_keys import SERVICES
from broker.domain.errors import Error, Refusal
from broker.domain.property_units import UnitRef
from broker.domain.routing_fields import RoutingFields
from broker.usecases import check_workers as module
from broker.usecases.check_worker_process import checked_document, checked_wire
from broker.usecases.check_workers import CheckWorkers
from broker.usecases.document_check import CheckedDocument, CheckTrace, check_document
from broker.xml.pki import TestPki
from broker.xml.trust import SignerIdentity
from tests.http.conftest import BANK, Broker, broker_settings, register_demo

NOT_PANT = b"<pantedokument xmlns='urn:no:dsve:pant:v1'><ukjent/></pantedokument>"


@pytest.fixture
async def workers(sqlite_broker: Broker) -> AsyncIterator[CheckWorkers]:
    pool = CheckWorkers(sqlite_broker.services.settings, 1)
    await pool.start()
    try:
        assert await pool.wait_ready(60)
        pool.submissions = 2  # as if other submissions were in flight: the worker takes the checks
        yield pool
    finally:
        await pool.close()


def _inline(broker: Broker, data: bytes) -> tuple[CheckedDocument | Refusal, str | None]:
    trace = CheckTrace()
    try:
        return check_document(broker.services, data, trace), trace.message_type
    except Refusal as refusal:
        return refusal, trace.message_type


async def _in_worker(pool: CheckWorkers, broker: Broker, data: bytes) -> tuple[CheckedDocument | Refusal, str | None]:
    trace = CheckTrace()

    def inline() -> CheckedDocument:
        raise AssertionError("checked inline")

    try:
        return await pool.check(data, trace, inline), trace.message_type
    except Refusal as refusal:
        return refusal, trace.message_type


async def test_a_worker_answers_what_the_broker_would(sqlite_broker: Broker, workers: CheckWorkers) -> None:
    signed = sqlite_broker.signed("pantedokument")
    tampered = signed.replace(b"<beloep>", b"<beloep>1", 1)
    assert tampered != signed
    for data in (signed, NOT_PANT, tampered, b"<not xml"):
        theirs, their_type = await _in_worker(workers, sqlite_broker, data)
        ours, our_type = _inline(sqlite_broker, data)
        assert their_type == our_type
        if isinstance(ours, Refusal):
            assert isinstance(theirs, Refusal)
            assert (theirs.error, theirs.detail, theirs.issues) == (ours.error, ours.detail, ours.issues)
        else:
            assert theirs == ours
    assert workers.sent == 4
    assert isinstance(_inline(sqlite_broker, NOT_PANT)[0], Refusal)
    refused = _inline(sqlite_broker, tampered)[0]
    assert isinstance(refused, Refusal) and refused.error is Error.SIGNATURE_INVALID


async def test_a_document_that_arrives_alone_is_checked_inline(sqlite_broker: Broker, workers: CheckWorkers) -> None:
    workers.submissions = 1
    await asyncio.sleep(module.BUSY_GAP_S * 2)
    trace = CheckTrace()
    data = sqlite_broker.signed("pantedokument")
    checked = await workers.check(data, trace, lambda: check_document(sqlite_broker.services, data, trace))
    assert checked.routing.sender == BANK
    assert workers.sent == 0


async def test_a_worker_that_dies_leaves_its_checks_to_the_broker_and_is_started_again(
    sqlite_broker: Broker, workers: CheckWorkers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(module, "RESTART_AFTER_S", (0.05, 0.05))
    first = workers._workers[0]
    assert first.pid is not None
    os.kill(first.pid, signal.SIGSTOP)  # it takes the job but never answers
    data = sqlite_broker.signed("pantedokument")
    inline_calls = []

    def inline() -> CheckedDocument:
        inline_calls.append(1)
        return check_document(sqlite_broker.services, data, CheckTrace())

    check = asyncio.create_task(workers.check(data, CheckTrace(), inline))
    await asyncio.sleep(0.2)
    assert not check.done() and workers.sent == 1
    os.kill(first.pid, signal.SIGKILL)
    checked = await asyncio.wait_for(check, 10)
    assert checked.routing.sender == BANK and inline_calls == [1]
    assert await workers.wait_ready(60)
    assert workers._workers[0].pid != first.pid
    again, _ = await _in_worker(workers, sqlite_broker, data)
    assert again == checked


async def test_closing_ends_every_worker(sqlite_broker: Broker) -> None:
    pool = CheckWorkers(sqlite_broker.services.settings, 2)
    await pool.start()
    processes = list(pool._workers)
    assert await pool.wait_ready(60)
    await pool.close()
    assert all(worker.returncode is not None for worker in processes)


async def test_a_busy_broker_checks_submissions_in_its_worker(
    aiohttp_client: Any, tmp_path: Path, test_pki: TestPki
) -> None:
    settings = broker_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}", test_pki, check_workers=1)
    app = create_app(settings)
    client = await aiohttp_client(app)
    await register_demo(app[SERVICES], test_pki)
    broker = Broker(client, test_pki)
    pool = app[SERVICES].check_workers
    assert isinstance(pool, CheckWorkers) and await pool.wait_ready(60)
    headers = await broker.headers(BANK, **{"Content-Type": "application/xml"})
    bodies = [broker.signed("pantedokument") for _ in range(40)] + [NOT_PANT]
    responses = await asyncio.gather(*(client.post("/api/v1/messages", data=b, headers=headers) for b in bodies))
    assert [r.status for r in responses] == [201] * 40 + [422]
    assert pool.sent > 0
    problem = await responses[-1].json()
    assert problem["errors"] and problem["errors"][0]["line"] > 0, problem


async def test_a_worker_that_cannot_start_leaves_every_check_to_the_broker(
    sqlite_broker: Broker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python-here"))
    pool = CheckWorkers(sqlite_broker.services.settings, 1)
    await pool.start()
    pool.submissions = 5
    data = sqlite_broker.signed("pantedokument")
    trace = CheckTrace()
    checked = await pool.check(data, trace, lambda: check_document(sqlite_broker.services, data, trace))
    assert checked.routing.sender == BANK and pool.sent == 0
    await pool.close()


def test_a_checked_document_crosses_the_pipe_whole() -> None:
    at = datetime(2026, 12, 7, 9, 0, 1, 5, tzinfo=UTC)
    created = datetime(2026, 12, 7, 10, 0, 1, tzinfo=timezone(timedelta(hours=1)))  # as the document wrote it
    document = CheckedDocument(
        "pantedokument",
        RoutingFields("pantedokument", "m-1", "910000004", "930000000", "REF-S", "REF-R", created),
        SignerIdentity("SERIALNUMBER=x", "ab" * 32, at, at, "910000004", "01017012345", "Bank"),
        (UnitRef("0301-1-2", 3, 4), UnitRef("0301-5-6")),
    )
    wire = pickle.loads(pickle.dumps(checked_wire(document)))
    back = checked_document(wire)
    assert back == document
    assert back.routing.created is not None and back.routing.created.utcoffset() == timedelta(hours=1)
    assert back.signer.not_after.tzinfo is UTC
    # every field of every part travels: a field added to one of them and not to the wire fails here
    parts = (document.routing, document.signer, document.units[0])
    for part, sent in zip(parts, (wire[1], wire[2], wire[3][0]), strict=True):
        assert len(sent) == len(dataclasses.fields(part))
