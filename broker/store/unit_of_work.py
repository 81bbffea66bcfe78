"""The unit of work: one transaction and the repositories that work inside it.

``async with UnitOfWork(engine) as uow:`` opens a connection and a transaction; nothing is kept unless
``await uow.commit()`` is called, and leaving the block rolls back whatever was not committed. Everything
a use case changes (a message, its history, its outbox row) therefore commits together or not at all.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from broker.store.client_repository import ClientRepository
from broker.store.file_transfer_repository import FileTransferRepository
from broker.store.history_repository import HistoryRepository
from broker.store.message_repository import MessageRepository
from broker.store.outbox_repository import OutboxRepository
from broker.store.participant_repository import ParticipantRepository
from broker.store.resource_repository import ResourceRepository
from broker.store.status_moves import StatusMoves
from broker.store.token_id_repository import TokenIdRepository


class UnitOfWork:
    participants: ParticipantRepository
    messages: MessageRepository
    history: HistoryRepository
    outbox: OutboxRepository
    statuses: StatusMoves
    token_ids: TokenIdRepository
    file_transfers: FileTransferRepository
    resources: ResourceRepository
    clients: ClientRepository

    def __init__(self, engine: AsyncEngine, *, held: AsyncConnection | None = None) -> None:
        self._engine = engine
        # A connection someone else keeps open (``KeptConnections``): in autocommit mode on PostgreSQL (each
        # statement is its own transaction); leaving the unit of work rolls back what was not committed and
        # leaves the connection open.
        self._held = held
        self._connection: AsyncConnection | None = None

    @property
    def connection(self) -> AsyncConnection:
        """The open connection, for the store's own modules that work inside this transaction."""
        if self._connection is None:
            raise RuntimeError("the unit of work is not open: use it in 'async with'")
        return self._connection

    async def __aenter__(self) -> UnitOfWork:
        if self._held is not None:
            connection = self._held
        else:
            connection = await self._engine.connect()
            try:
                await connection.begin()
            except BaseException:
                await connection.close()
                raise
        self._connection = connection
        self.participants = ParticipantRepository(connection)
        self.history = HistoryRepository(connection)
        self.messages = MessageRepository(connection, self.history)
        self.outbox = OutboxRepository(connection)
        self.statuses = StatusMoves(connection)
        self.token_ids = TokenIdRepository(connection)
        self.file_transfers = FileTransferRepository(connection)
        self.resources = ResourceRepository(connection)
        self.clients = ClientRepository(connection)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        connection, self._connection = self.connection, None
        try:
            if connection.in_transaction():
                await connection.rollback()
        finally:
            if self._held is None:
                await connection.close()

    async def commit(self) -> None:
        """Keep everything done so far; the unit of work stays usable and starts a new transaction."""
        await self.connection.commit()

    async def rollback(self) -> None:
        await self.connection.rollback()
