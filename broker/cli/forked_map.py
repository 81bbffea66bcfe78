"""A map over chunks of work shared by this process and forked copies of it.

``dsve validate`` on thousands of files is bound by the CPU, and every file stands alone. A process pool
costs its imports, a feeder thread and a pickle each way per chunk, and leaves the parent idle; forked
copies of the process that already holds the compiled schemas cost one fork each, and the parent works
too. Chunk numbers are handed out through a pipe written in full before the fork, so a process slowed
by other work on the machine simply takes fewer chunks. Each copy writes its answers (``marshal``: the
answers must be plain tuples, strings, numbers and None) to its own unlinked temporary file, read back
after the copy has exited; chunks whose copy died are done again here, so a crash costs time, not answers.
"""

from __future__ import annotations

import contextlib
import gc
import marshal
import os
import signal
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO, NoReturn, TypeVar

_T = TypeVar("_T")
_S = TypeVar("_S")

_INDEX_BYTES = 4
# Chunk numbers are written to the pipe before any reader exists, so all of them must fit its buffer
# (64 KiB on Linux; POSIX promises 512 bytes per atomic write, not less for a whole buffer).
MAX_CHUNKS = 4096


def _chunk_numbers(read_fd: int) -> Iterator[int]:
    """The next chunk numbers from the shared pipe; reads of four bytes never split between readers."""
    while True:
        data = os.read(read_fd, _INDEX_BYTES)
        if len(data) < _INDEX_BYTES:
            return
        yield int.from_bytes(data, "little")


def _read_answers(file: BinaryIO, results: list[list[_T] | None]) -> None:
    """Put the (chunk number, answers) records one copy wrote into ``results``; a record cut short ends it."""
    file.seek(0)
    while True:
        try:
            index, answers = marshal.load(file)  # noqa: S302 (our own copy wrote this unlinked 0600 file)
        except (EOFError, ValueError, TypeError):
            return
        results[index] = answers


def _copy(work: Callable[[_S], list[_T]], chunks: Sequence[_S], read_fd: int, file: BinaryIO) -> NoReturn:
    """The forked copy's life: take chunks until none are left, write the answers, exit without cleanup."""
    status = 1
    try:
        gc.freeze()  # the copy's collections then leave the inherited objects (and their pages) alone
        for index in _chunk_numbers(read_fd):
            marshal.dump((index, work(chunks[index])), file)
        file.flush()
        status = 0
    finally:
        os._exit(status)


def forked_map(work: Callable[[_S], list[_T]], chunks: Sequence[_S], processes: int) -> list[list[_T]]:
    """``[work(chunk) for chunk in chunks]``, computed by this process and ``processes - 1`` forked copies."""
    if len(chunks) > MAX_CHUNKS:
        raise ValueError(f"at most {MAX_CHUNKS} chunks")
    results: list[list[_T] | None] = [None] * len(chunks)
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, b"".join(i.to_bytes(_INDEX_BYTES, "little") for i in range(len(chunks))))
    finally:
        os.close(write_fd)
    running: dict[int, BinaryIO] = {}
    with contextlib.ExitStack() as files:
        try:
            for _ in range(max(0, processes - 1)):
                file = files.enter_context(tempfile.TemporaryFile())
                pid = os.fork()
                if pid == 0:
                    _copy(work, chunks, read_fd, file)
                running[pid] = file
            for index in _chunk_numbers(read_fd):
                results[index] = work(chunks[index])
            while running:
                pid, written = running.popitem()
                os.waitpid(pid, 0)
                _read_answers(written, results)
        finally:
            os.close(read_fd)
            for pid in running:  # this process failed or was interrupted: its copies' work is not wanted
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
    return [work(chunks[i]) if answers is None else answers for i, answers in enumerate(results)]
