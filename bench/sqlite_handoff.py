"""How long a second SQLite writer waits after the first one commits: SQLite's busy wait (the gate off)
against the in-process write gate (``broker/store/sqlite_write_gate.py``). Sleep-driven, so it shows the
same on a busy machine::

    python -m bench.sqlite_handoff
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.store import sqlite_write_gate
from broker.store.engine import create_engine

_T = sa.Table("t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("n", sa.Integer))
_GATED = sqlite_write_gate.WriteGate.before
HOLDS_S = (0.005, 0.02, 0.05, 0.1, 0.2)
REPEATS = 9


def _ungated(self: sqlite_write_gate.WriteGate, connection: sqlite3.Connection, sql: str) -> None:
    """Straight to SQLite's busy wait."""


async def _handoff_s(engine: AsyncEngine, hold_s: float) -> float:
    """The first writer holds the file for ``hold_s``; how long after its commit the second one has written."""
    async with engine.connect() as first, engine.connect() as second:
        await first.execute(sa.insert(_T).values(n=1))

        async def write_second() -> float:
            await second.execute(sa.insert(_T).values(n=2))
            return time.perf_counter()

        waiting = asyncio.create_task(write_second())
        await asyncio.sleep(hold_s)
        await first.commit()
        released = time.perf_counter()
        written = await waiting
        await second.commit()
        return written - released


async def _main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(directory) / 'handoff.db'}")
        async with engine.begin() as conn:
            await conn.run_sync(_T.metadata.create_all)
        try:
            for hold_s in HOLDS_S:
                row = []
                for gated in (False, True):
                    sqlite_write_gate.WriteGate.before = _GATED if gated else _ungated  # type: ignore[method-assign]
                    waits = [await _handoff_s(engine, hold_s) for _ in range(REPEATS)]
                    row.append(
                        f"gate {'on ' if gated else 'off'} median {1000 * statistics.median(waits):5.1f} "
                        f"max {1000 * max(waits):5.1f} ms"
                    )
                print(f"held {1000 * hold_s:4.0f} ms: " + " | ".join(row), flush=True)
        finally:
            sqlite_write_gate.WriteGate.before = _GATED  # type: ignore[method-assign]
            await engine.dispose()


if __name__ == "__main__":
    asyncio.run(_main())
