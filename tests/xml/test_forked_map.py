"""``forked_map``: the chunks' answers in order, whichever process did them, and none lost to a dying copy."""

from __future__ import annotations

import os
import time

import pytest

from broker.cli.forked_map import MAX_CHUNKS, forked_map


def _square_each(chunk: list[int]) -> list[tuple[int, int, int]]:
    time.sleep(0.005)  # long enough that the copies, started first, get their share
    return [(n, n * n, os.getpid()) for n in chunk]


@pytest.mark.parametrize("processes", [1, 2, 4])
def test_answers_come_back_in_chunk_order(processes: int) -> None:
    chunks = [list(range(start, start + 7)) for start in range(0, 420, 7)]
    answers = forked_map(_square_each, chunks, processes)
    assert [[(n, square) for n, square, _ in chunk] for chunk in answers] == [
        [(n, n * n) for n in chunk] for chunk in chunks
    ]
    if processes > 1:
        # Copies did part of the work: they start before this process takes its first chunk.
        workers = {pid for chunk in answers for _, _, pid in chunk}
        assert workers - {os.getpid()}


def test_chunks_of_a_copy_that_dies_are_done_here() -> None:
    parent = os.getpid()

    def dies_in_a_copy(chunk: list[int]) -> list[int]:
        if os.getpid() != parent:
            os._exit(3)
        return [n + 1 for n in chunk]

    chunks = [[n] for n in range(50)]
    assert forked_map(dies_in_a_copy, chunks, 3) == [[n + 1] for n in range(50)]


def test_too_many_chunks_are_refused() -> None:
    with pytest.raises(ValueError):
        forked_map(_square_each, [[1]] * (MAX_CHUNKS + 1), 2)
