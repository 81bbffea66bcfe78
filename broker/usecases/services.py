"""What the use cases need from the running broker, gathered once by ``create_app`` (the bootstrap).

Use cases receive this object instead of reaching for globals, so a test can build one around any store
and any transport, and two apps in one process never share state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from broker.domain.clock import Clock, utc_now

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from broker.config import Settings
    from broker.domain.payload_check import PayloadValidator
    from broker.files.store import FileStore
    from broker.store.kept_connections import KeptConnections
    from broker.store.registry_cache import RegistryCache
    from broker.usecases.check_workers import CheckWorkers
    from broker.usecases.submissions import SubmissionWriter
    from broker.xml.catalogue import Catalogue
    from broker.xml.inner_signatures import SignedDocuments
    from broker.xml.verification import SignatureVerifier


def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class Services:
    """The store, the schema catalogue, the signature verifier, the submission writer and the relay's
    wake-up call; built once by ``create_app`` and never changed."""

    settings: Settings
    engine: AsyncEngine
    catalogue: Catalogue
    verifier: SignatureVerifier
    # Stores verified submissions: a group commit, or one transaction each (``StoreEach``).
    writer: SubmissionWriter
    # Called after a commit that wrote outbox rows, so the relay publishes at once instead of at its next poll.
    outbox_written: Callable[[], None] = field(default=_nothing)
    clock: Clock = field(default=utc_now)
    # Inner documents (a mortgage, a transfer) and who must sign them, and the verifier of those signatures
    # (the personal CAs and the enterprise ones); None checks no inner signature.
    # The participant registry as the writers and the auth check read it: cached while PostgreSQL notifies
    # changes (it reads through on SQLite); None reads the store each time.
    registry: RegistryCache | None = None
    signed_documents: SignedDocuments | None = None
    inner_verifier: SignatureVerifier | None = None
    # Where file transfers' bytes live (``create_app`` sets the configured store) and who checks their payload
    # for resources that name a schema set (None: such a transfer fails, it is never published unchecked).
    file_store: FileStore | None = None
    payload_validator: PayloadValidator | None = None
    # Kept autocommit connections (PostgreSQL), for steps that read and then write one statement: no pool
    # checkout, ping, BEGIN or COMMIT. None: such steps open an ordinary unit of work.
    connections: KeptConnections | None = None
    # Processes that run a submission's parse, schema and signature checks while the event loop is busy
    # with others (``DSVE_CHECK_WORKERS``); None checks every document in this process.
    check_workers: CheckWorkers | None = None
