"""The file store seam, and the one store the broker ships: files in a directory.

A file transfer's bytes never pass through the database. On the embedded default they are files under the
data directory; with PostgreSQL and several broker processes the directory is one they share (a network or
cluster file system mounted on each, ``DSVE_FILE_STORE_DIR``), so any process can serve a download that
another took in. Plain files stream at disk speed in both directions, support ranges by seeking, are
appended to by a resumed (TUS) upload, and cost the database nothing: PostgreSQL large objects would go
through the WAL, replication and vacuum for every byte. A store on an object service (S3) fits the same
Protocol.

File I/O runs in worker threads, one chunk at a time, so the event loop never waits on the disk and a
file is never held whole in memory.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK_BYTES = 1024 * 1024
_KEY = re.compile(r"^[0-9a-f][0-9a-f-]{7,63}$")


class Hash(Protocol):
    """A running digest (``hashlib``'s objects)."""

    def update(self, data: bytes, /) -> None: ...


class FileWriter(Protocol):
    async def write(self, chunk: bytes, digest: Hash | None = None) -> None:
        """Append ``chunk``; with ``digest``, hash it too, in the same hand-off to a worker thread."""

    async def close(self) -> None: ...


class FileStore(Protocol):
    """Named files (a transfer's id is its key), written by appending and read by range."""

    async def open_writer(self, key: str, offset: int = 0) -> FileWriter:
        """Write from ``offset`` on (0 starts the file afresh; a TUS resume continues where it stopped)."""

    async def size(self, key: str) -> int | None:
        """The stored length, or None when there is no such file."""

    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncGenerator[bytes, None]:
        """The bytes from ``start`` up to (not including) ``end``, in chunks."""

    def local_path(self, key: str) -> Path:
        """The file on this machine's file system, for checks that need random access (a ZIP's index)."""

    async def delete(self, key: str) -> None: ...


# Written data is flushed to the disk every so often while the upload goes on, so the fsync that ends it has
# little left to do. The flush runs beside the writes (at most one at a time), not between them: receiving,
# hashing and writing go on at full speed while the disk catches up.
SYNC_EVERY_BYTES = 64 * 1024 * 1024


class _DiskWriter:
    """Opens its file in the same hand-off to a worker thread as the first chunk's write (or at ``close`` when
    nothing was written), so a small upload costs two hand-offs (open and write, then fsync and close), not
    three: each one is a wake-up of a worker thread and of the event loop."""

    def __init__(self, open_file: Callable[[], BinaryIO]) -> None:
        self._open_file = open_file
        self._handle: BinaryIO | None = None
        self._unsynced = 0
        self._syncing: asyncio.Future[None] | None = None

    def _opened(self) -> BinaryIO:
        if self._handle is None:
            self._handle = self._open_file()
        return self._handle

    def _write(self, chunk: bytes, digest: Hash | None) -> None:
        handle = self._opened()
        if digest is not None:
            digest.update(chunk)
        handle.write(chunk)

    async def write(self, chunk: bytes, digest: Hash | None = None) -> None:
        await asyncio.to_thread(self._write, chunk, digest)
        self._unsynced += len(chunk)
        if self._unsynced >= SYNC_EVERY_BYTES and (self._syncing is None or self._syncing.done()):
            if self._syncing is not None:
                await self._syncing  # done already; raises if that flush failed
            self._unsynced = 0
            self._syncing = asyncio.ensure_future(asyncio.to_thread(self._flush_to_disk))

    def _flush_to_disk(self) -> None:
        handle = self._opened()
        handle.flush()
        os.fdatasync(handle.fileno())

    async def close(self) -> None:
        def finish() -> None:
            handle = self._opened()
            try:
                handle.flush()
                os.fsync(handle.fileno())
            finally:
                handle.close()

        try:
            if self._syncing is not None:
                await self._syncing
        finally:
            await asyncio.to_thread(finish)


class DiskFileStore:
    """Files in a directory, two levels of subdirectories by the key's first characters."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def local_path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"not a file key: {key!r}")
        return self.root / key[:2] / key

    async def open_writer(self, key: str, offset: int = 0) -> FileWriter:
        path = self.local_path(key)

        def open_file() -> BinaryIO:
            path.parent.mkdir(parents=True, exist_ok=True)
            if offset == 0:
                return path.open("wb")
            handle = path.open("r+b")
            handle.truncate(offset)  # bytes past the offset the client resumes from were never acknowledged
            handle.seek(offset)
            return handle

        return _DiskWriter(open_file)

    async def size(self, key: str) -> int | None:
        path = self.local_path(key)

        def stat() -> int | None:
            try:
                return path.stat().st_size
            except FileNotFoundError:
                return None

        return await asyncio.to_thread(stat)

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncGenerator[bytes, None]:
        path = self.local_path(key)
        remaining = None if end is None else end - start

        def first() -> tuple[BinaryIO | None, bytes]:
            """Open, seek and read the first chunk in one hand-off; a file read whole by then is closed in it
            too (a small file costs one hand-off to a worker thread instead of four)."""
            handle = path.open("rb")
            try:
                handle.seek(start)
                want = CHUNK_BYTES if remaining is None else min(CHUNK_BYTES, remaining)
                chunk = handle.read(want)
            except BaseException:
                handle.close()
                raise
            if len(chunk) < want or remaining == len(chunk):
                handle.close()
                return None, chunk
            return handle, chunk

        handle, chunk = await asyncio.to_thread(first)
        try:
            if chunk:
                yield chunk
            if handle is None:
                return
            if remaining is not None:
                remaining -= len(chunk)
            while remaining is None or remaining > 0:
                want = CHUNK_BYTES if remaining is None else min(CHUNK_BYTES, remaining)
                chunk = await asyncio.to_thread(handle.read, want)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            if handle is not None:
                handle.close()  # no await here: a reader abandoned mid-file is closed by the garbage collector too

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.local_path(key).unlink, True)
