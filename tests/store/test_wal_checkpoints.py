"""The broker's engine leaves SQLite's WAL checkpoints to its background task, which copies the log back."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from broker.store import migrate
from broker.store.engine import SQLITE_BUSY_TIMEOUT_MS, create_engine, sqlite_file
from broker.store.wal_checkpoints import WalCheckpoints

# Past SQLite's own threshold (1,000 pages of 4 KiB), so a commit would have checkpointed by itself.
_ROWS, _ROW_BYTES = 80, 64 * 1024


async def _write_past_the_threshold(url: str, *, background_checkpoints: bool) -> None:
    engine = create_engine(url, background_checkpoints=background_checkpoints)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS blobs (data BLOB)")
        for _ in range(_ROWS):  # one commit each: each could have been the one to checkpoint
            async with engine.begin() as conn:
                await conn.execute(sa.text("INSERT INTO blobs VALUES (randomblob(:n))"), {"n": _ROW_BYTES})
        checkpoints = WalCheckpoints(str(sqlite_file(url)), SQLITE_BUSY_TIMEOUT_MS / 1000)
        try:
            first = await checkpoints.checkpoint_once()
            again = await checkpoints.checkpoint_once()
        finally:
            await checkpoints.stop()
        pages = _ROWS * _ROW_BYTES // 4096
        if background_checkpoints:
            assert first.log_frames >= pages  # no commit checkpointed: the whole log was left to the task
        else:
            assert first.log_frames < pages  # SQLite's own: the log was copied back and started over
        assert not first.busy and first.checkpointed == first.log_frames  # no reader held any of it back
        assert again.checkpointed == again.log_frames
    finally:
        await engine.dispose()


async def test_the_broker_s_commits_leave_the_checkpoint_to_the_task(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}"
    await migrate.upgrade(url)
    await _write_past_the_threshold(url, background_checkpoints=True)


async def test_other_engines_checkpoint_as_sqlite_does(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'tool.db'}"
    await migrate.upgrade(url)
    await _write_past_the_threshold(url, background_checkpoints=False)


def test_only_a_file_has_a_log_to_checkpoint() -> None:
    assert sqlite_file("sqlite+aiosqlite:///data/broker.db") == "data/broker.db"
    assert sqlite_file("sqlite+aiosqlite:///:memory:") is None
    assert sqlite_file("postgresql+asyncpg://postgres@127.0.0.1/test") is None


async def test_the_relay_s_heartbeat_commits_leave_the_checkpoint_to_the_task_too(tmp_path: Path) -> None:
    # A beat that checkpointed in its commit, once a second, held the group commit's commit up 32–50 ms.
    from broker.store.sqlite_heartbeat import FileHeartbeat

    url = f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}"
    await migrate.upgrade(url)
    heartbeat = FileHeartbeat(str(sqlite_file(url)), "relay-1", SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        assert heartbeat.beat() is False  # the first beat inserts the row
        connection = heartbeat._connection
        assert connection is not None
        assert connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    finally:
        heartbeat.close()
