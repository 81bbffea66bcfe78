"""The embedded benchmark broker's delivery lines: flushed soon after they are written, never lost at the end."""

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


async def test_lines_written_together_are_flushed_once_after_the_wait() -> None:
    out = _CountingOut()
    flush_soon = _FlushSoon(out, asyncio.get_running_loop())
    for line in ("a 1\n", "b 2\n"):
        out.write(line)
        flush_soon()
    assert out.flushes == 0
    await asyncio.sleep(_FlushSoon.FLUSH_AFTER_S * 4)
    assert out.flushes == 1
    out.write("c 3\n")
    flush_soon()
    await asyncio.sleep(_FlushSoon.FLUSH_AFTER_S * 4)
    assert out.flushes == 2


async def test_nothing_written_means_no_flush_and_close_flushes_what_waits() -> None:
    out = _CountingOut()
    flush_soon = _FlushSoon(out, asyncio.get_running_loop())
    await asyncio.sleep(_FlushSoon.FLUSH_AFTER_S * 4)
    assert out.flushes == 0
    out.write("a 1\n")
    flush_soon()
    flush_soon.close()
    assert out.flushes == 1
