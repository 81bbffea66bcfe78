"""The loopback services the suite depends on are there and isolated per test."""

from __future__ import annotations

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine


async def test_postgres_database_is_private(postgres_url: str) -> None:
    engine = create_async_engine(postgres_url)
    async with engine.connect() as conn:
        name = (await conn.execute(sa.text("select current_database()"))).scalar_one()
    await engine.dispose()
    assert name.startswith("dsvetest_")


async def test_rabbitmq_answers(amqp_url: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(amqp_url)
    await connection.close()
    assert asyncpg is not None
