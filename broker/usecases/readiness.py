"""Readiness of the store: can a connection be had and a trivial statement run, within a short time."""

from __future__ import annotations

import asyncio
import logging

import sqlalchemy as sa

from broker import outage_log
from broker.store.outages import note_store_outage
from broker.usecases.services import Services

log = logging.getLogger(__name__)


async def store_ready(services: Services, timeout_s: float = 2.0) -> bool:
    async def probe() -> None:
        async with services.engine.connect() as connection:
            await connection.execute(sa.text("SELECT 1"))

    try:
        await asyncio.wait_for(probe(), timeout_s)
    except Exception as exc:
        if not note_store_outage(exc):
            log.warning("readiness: the store does not answer", exc_info=True)
        return False
    outage_log.DATABASE.recovered()
    return True
