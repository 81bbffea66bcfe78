"""The unit of work for a step that reads and then makes one conditional write (the first download, the
start of an upload): on PostgreSQL a kept autocommit connection, so the step pays no pool checkout, ping,
BEGIN or COMMIT round trip; the write is one statement, its own transaction, and moves nothing that another
request moved first. Elsewhere (SQLite, or no kept connections) an ordinary unit of work."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from broker.domain.errors import Refusal
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.services import Services


@contextlib.asynccontextmanager
async def one_write_unit(services: Services) -> AsyncIterator[UnitOfWork]:
    if services.connections is None:
        async with UnitOfWork(services.engine) as uow:
            yield uow
        return
    refused: Refusal | None = None
    async with services.connections.unit_of_work() as uow:
        try:
            yield uow
        except Refusal as exc:
            # The step refused the request (not found, not yet published, uploaded already): no statement
            # failed, so the connection is kept for the next step instead of being dropped with the refusal.
            refused = exc
    if refused is not None:
        raise refused
