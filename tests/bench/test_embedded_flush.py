"""The embedded benchmark broker's delivery lines: flushed at most every 5 ms, never lost at the end."""

from __future__ import annotations

import asyncio
import io

from bench.e2e import _FlushSoon


class _CountingOut(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


async def test_lines_written_in_one_turn_are_flushed_once_at_its_end() -> None:
    out = _CountingOut()
    flush_soon = _FlushSoon(out, asyncio.get_running_loop())
    for line in ("a 1\n", "b 2\n"):
        out.write(line)
        flush_soon()
    assert out.flushes == 0
    await asyncio.sleep(0)
    assert out.flushes == 1


async def test_a_line_soon_after_a_flush_waits_for_the_next_one() -> None:
    out = _CountingOut()
    flush_soon = _FlushSoon(out, asyncio.get_running_loop())
    out.write("a 1\n")
    flush_soon()
    await asyncio.sleep(0)
    out.write("b 2\n")
    flush_soon()
    await asyncio.sleep(0)
    assert out.flushes == 1  # under load the lines of 5 ms share a flush
    await asyncio.sleep(_FlushSoon.FLUSH_AFTER_S * 4)
    assert out.flushes == 2
    out.write("c 3\n")  # long after the last flush: at once again
    flush_soon()
    await asyncio.sleep(0)
    assert out.flushes == 3


async def test_nothing_written_means_no_flush_and_close_flushes_what_waits() -> None:
    out = _CountingOut()
    flush_soon = _FlushSoon(out, asyncio.get_running_loop())
    await asyncio.sleep(_FlushSoon.FLUSH_AFTER_S * 4)
    assert out.flushes == 0
    out.write("a 1\n")
    flush_soon()
    flush_soon.close()
    assert out.flushes == 1
