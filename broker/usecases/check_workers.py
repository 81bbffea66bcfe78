"""Check worker processes: the second core for a submission's parse, schema and signature checks.

One broker process is bound by its one thread of Python: under load about a third of it goes to the checks
of each document, which hold the interpreter's lock (threads gain nothing). While other submissions are in
flight, a document is checked in a worker process (``check_worker_process.py``) and the event loop serves
the rest meanwhile; a submission that arrives alone is checked inline, which costs least: the hand-over
costs more CPU than it saves when nothing waits. A worker that is still starting, has many checks queued,
or has died leaves the check to the broker, so no submission waits for a worker and none is refused
because of one; a dead worker is started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import pickle
import sys
import time
from collections.abc import Callable
from typing import cast

from broker.config import Settings
from broker.domain.errors import Error, Issue, Refusal
from broker.usecases.check_worker_process import (
    CHECKED,
    HEADER,
    READY,
    REFUSED,
    CheckedWire,
    checked_document,
    frame,
)
from broker.usecases.document_check import CheckedDocument, CheckTrace

log = logging.getLogger("broker.check_workers")

# Checks queued in one worker before the broker checks the next document itself. A check counts as queued
# until the event loop reads its answer, so under load the count holds answers the busy loop has not read
# yet as well as checks the worker has not begun: with 64, a fifth of the checks came back to the loop
# (the benchmark's bottleneck) while the worker used half a core, and 256 sent all of them to the worker
# (closed loop, embedded, eight alternated rounds: 837 → 932 msg/s). A cap of 16 sent most of a burst of
# requests read in one turn of the loop back to the broker. A worker checks a small document in 0.5–1 ms.
MAX_QUEUED = 256
# Documents that arrive closer together than this are taken as a busy event loop even when few handlers are
# in flight: under load requests wait in the sockets' buffers for the loop, not in handlers.
BUSY_GAP_S = 0.002
RESTART_AFTER_S = (1.0, 60.0)  # first and longest wait before a dead worker is started again
STOP_TIMEOUT_S = 5.0


class _WorkerGone(Exception):
    """The worker ended before it answered; the broker checks the document itself."""


class _Worker(asyncio.SubprocessProtocol):
    """One worker's pipes. Answers are parsed as their bytes arrive, several to a read when they come
    together: no task, no awaiting per answer."""

    def __init__(self, pool: CheckWorkers, loop: asyncio.AbstractEventLoop) -> None:
        self._pool = pool
        self._buffer = bytearray()
        self.transport: asyncio.SubprocessTransport | None = None
        self.ready = False
        self.queued: dict[int, asyncio.Future[tuple[str, object]]] = {}
        self.ended: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.SubprocessTransport, transport)

    def pipe_data_received(self, fd: int, data: bytes | bytearray) -> None:
        buffer = self._buffer
        buffer += data
        offset = 0
        while len(buffer) - offset >= HEADER.size:
            (size,) = HEADER.unpack_from(buffer, offset)
            end = offset + HEADER.size + size
            if len(buffer) < end:
                break
            body = bytes(buffer[offset + HEADER.size : end])
            self._pool._answer(self, pickle.loads(body))  # noqa: S301 - from the process this broker started
            offset = end
        del buffer[:offset]

    def connection_lost(self, exc: Exception | None) -> None:
        """Both pipes closed and the process ended (asyncio calls this only then)."""
        if self.transport is not None:
            self.transport.close()
        self._pool._gone(self)
        if not self.ended.done():
            self.ended.set_result(None)

    def send(self, data: bytes) -> None:
        assert self.transport is not None
        pipe = self.transport.get_pipe_transport(0)
        if pipe is not None:
            cast(asyncio.WriteTransport, pipe).write(data)

    @property
    def pid(self) -> int | None:
        return None if self.transport is None else self.transport.get_pid()

    @property
    def returncode(self) -> int | None:
        return None if self.transport is None else self.transport.get_returncode()


class CheckWorkers:
    """A few check worker processes, fed while the event loop has other submissions in flight."""

    def __init__(self, settings: Settings, count: int) -> None:
        self._settings = settings
        self._count = count
        self._workers: list[_Worker] = []
        self._ids = itertools.count(1)
        self._closing = False
        self._restarts: set[asyncio.Task[None]] = set()
        self._restart_wait_s = RESTART_AFTER_S[0]
        # Submissions between their arrival and their answer; ``submit_message`` counts them.
        self.submissions = 0
        self._last_check = 0.0
        self.sent = 0  # documents checked in a worker (for the tests and the benchmarks)

    async def start(self) -> None:
        """Start the workers; they take checks once they have loaded the schemas (about a second). A worker
        that cannot be started leaves the broker to check every document itself, as with none configured."""
        try:
            for _ in range(self._count):
                await self._spawn()
        except OSError as exc:
            log.warning(
                "a check worker could not be started; the broker checks every document itself",
                extra={"error": str(exc)},
            )

    async def wait_ready(self, timeout_s: float) -> bool:
        """Whether every worker is ready within ``timeout_s`` (for tests and benchmarks)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not (len(self._workers) == self._count and all(w.ready for w in self._workers)):
            if loop.time() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def check(self, data: bytes, trace: CheckTrace, inline: Callable[[], CheckedDocument]) -> CheckedDocument:
        """The document checked in a worker while others are in flight, else ``inline()``."""
        worker = self._choose()
        if worker is None:
            return inline()
        job_id = next(self._ids)
        answered: asyncio.Future[tuple[str, object]] = asyncio.get_running_loop().create_future()
        worker.queued[job_id] = answered
        worker.send(frame((job_id, data)))
        self.sent += 1
        try:
            kind, payload = await answered
        except _WorkerGone:
            return inline()
        if kind == CHECKED:
            document = checked_document(cast(CheckedWire, payload))
            trace.message_type = document.message_type
            return document
        if kind == REFUSED:
            message_type, error, detail, issues = cast(tuple[str | None, str, str, list[Issue]], payload)
            trace.message_type = message_type
            raise Refusal(Error[error], detail, list(issues))
        log.warning("a check worker failed on a document; the broker checks it itself", extra={"error": payload})
        return inline()

    def _choose(self) -> _Worker | None:
        now = time.monotonic()
        since, self._last_check = now - self._last_check, now
        if self.submissions <= 1 and since > BUSY_GAP_S and not any(w.queued for w in self._workers):
            return None  # alone: inline is cheapest
        ready = [w for w in self._workers if w.ready]
        best = min(ready, key=lambda w: len(w.queued), default=None)
        if best is None or len(best.queued) >= MAX_QUEUED:
            return None
        return best

    async def _spawn(self) -> None:
        loop = asyncio.get_running_loop()
        _, worker = await loop.subprocess_exec(
            lambda: _Worker(self, loop),
            sys.executable,
            "-m",
            "broker.usecases.check_worker_process",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=None,
        )
        if worker.ended.done():  # ended already: its restart is on the way
            return
        worker.send(frame(self._settings))
        self._workers.append(worker)

    def _answer(self, worker: _Worker, message: tuple[int, str, object]) -> None:
        job_id, kind, payload = message
        if kind == READY:
            worker.ready = True
            self._restart_wait_s = RESTART_AFTER_S[0]
            return
        answered = worker.queued.pop(job_id, None)
        if answered is not None and not answered.done():  # a cancelled request's answer is dropped
            answered.set_result((kind, payload))

    def _gone(self, worker: _Worker) -> None:
        worker.ready = False
        for answered in worker.queued.values():
            if not answered.done():
                answered.set_exception(_WorkerGone())
        worker.queued.clear()
        if worker in self._workers:
            self._workers.remove(worker)
        if self._closing:
            return
        wait = self._restart_wait_s
        self._restart_wait_s = min(wait * 2, RESTART_AFTER_S[1])
        log.warning(
            "a check worker ended; the broker checks documents itself until another has started",
            extra={"returncode": worker.returncode, "restart_in_s": wait},
        )
        task = asyncio.create_task(self._restart(wait), name="check worker restart")
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    async def _restart(self, wait_s: float) -> None:
        await asyncio.sleep(wait_s)
        if not self._closing:
            try:
                await self._spawn()
            except OSError as exc:
                log.warning("a check worker could not be started", extra={"error": str(exc)})

    async def close(self) -> None:
        """End every worker: the end of its input and SIGTERM (by the time the server's cleanup runs no check
        is owed, and a worker still loading its schemas would otherwise hold the stop for a second), then a
        kill for one that does not end in time."""
        self._closing = True
        for task in list(self._restarts):
            task.cancel()
        workers, self._workers = list(self._workers), []
        for worker in workers:
            if worker.transport is not None and (pipe := worker.transport.get_pipe_transport(0)) is not None:
                pipe.close()
            if worker.transport is not None and not worker.ended.done():
                with contextlib.suppress(ProcessLookupError):
                    worker.transport.terminate()
        for worker in workers:
            try:
                await asyncio.wait_for(asyncio.shield(worker.ended), STOP_TIMEOUT_S)
            except TimeoutError:
                if worker.transport is not None:
                    worker.transport.kill()
                await worker.ended
