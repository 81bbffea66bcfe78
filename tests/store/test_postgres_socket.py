"""PostgreSQL through its Unix socket, in the URL form the README gives for a database on the broker's host."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from broker.store import migrate
from broker.store.engine import create_engine
from tests.conftest import missing

pytestmark = pytest.mark.postgres


async def _socket_url(tcp_url: str) -> str:
    """The same database through the server's socket; the test is only meaningful where that socket is."""
    engine = create_engine(tcp_url)
    try:
        async with engine.connect() as connection:
            directories = (await connection.execute(sa.text("SHOW unix_socket_directories"))).scalar_one()
            port = (await connection.execute(sa.text("SHOW port"))).scalar_one()
    finally:
        await engine.dispose()
    for directory in (d.strip() for d in str(directories).split(",") if d.strip()):
        if Path(directory, f".s.PGSQL.{port}").is_socket():
            parts = urlsplit(tcp_url)
            return f"postgresql+asyncpg://{parts.username}@{parts.path}?host={directory}&port={port}"
    missing(f"PostgreSQL's socket (directories {directories!r}, port {port}) is not on this host")


async def test_the_broker_migrates_and_reads_over_the_socket(postgres_url: str) -> None:
    url = await _socket_url(postgres_url)

    await migrate.upgrade(url)
    assert await migrate.current(url) == migrate.head_revision()
    # A connection over a Unix socket has no server address; the test's own over TCP has one.
    assert await _server_address(url) is None
    assert await _server_address(postgres_url) is not None
    assert await migrate.current(postgres_url) == migrate.head_revision()  # the same database as over TCP


async def _server_address(url: str) -> object:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(sa.text("SELECT count(*) FROM messages"))).scalar_one() == 0
            return (await connection.execute(sa.text("SELECT inet_server_addr()"))).scalar_one()
    finally:
        await engine.dispose()
