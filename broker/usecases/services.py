"""What the use cases need from the running broker, gathered once by ``create_app`` (the bootstrap).

Use cases receive this object instead of reaching for globals, so a test can build one around any store
and any transport, and two apps in one process never share state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from broker.domain.clock import utc_now

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from broker.config import Settings
    from broker.domain.payload_check import PayloadValidator
    from broker.domain.property_units import StoredUnits
    from broker.files.store import FileStore
    from broker.store.outbox_repository import ClaimedRow
    from broker.store.registry_cache import RegistryCache
    from broker.usecases.group_commit import GroupCommit
    from broker.xml.catalogue import Catalogue
    from broker.xml.inner_signatures import SignedDocuments
    from broker.xml.verification import SignatureVerifier


def _nothing() -> None:
    return None


def _ignore(_: Sequence[StoredUnits]) -> None:
    return None


class OutboxHandOver(Protocol):
    """The relay, taking outbox rows written already leased to it (PostgreSQL): no claim round trip."""

    @property
    def lease_owner(self) -> str:
        """The relay's name in the rows it leases (``leased_by``)."""
        ...

    def lease_until(self) -> datetime: ...

    def publish_leased(self, rows: Sequence[ClaimedRow]) -> None: ...


@dataclass(slots=True)
class Services:
    """The store, the schema catalogue, the signature verifier and the relay's wake-up call."""

    settings: Settings
    engine: AsyncEngine
    catalogue: Catalogue
    verifier: SignatureVerifier
    # Called after a commit that wrote outbox rows, so the relay publishes at once instead of at its next poll.
    outbox_written: Callable[[], None] = field(default=_nothing)
    clock: Callable[[], datetime] = field(default=utc_now)
    # Stores submissions that arrive together in one transaction; None stores each in its own.
    group_commit: GroupCommit | None = None
    # Where the group commit hands the outbox rows it wrote leased (PostgreSQL); None: the relay claims them.
    hand_over: OutboxHandOver | None = None
    # Told, after the commit, which messages were stored and the property units each names (the console's
    # index takes them from here instead of parsing the stored content again).
    messages_stored: Callable[[Sequence[StoredUnits]], None] = field(default=_ignore)
    # The participant registry as the group commit reads it: cached while PostgreSQL notifies changes.
    registry: RegistryCache | None = None
    # Inner documents (a mortgage, a transfer) and who must sign them, and the verifier of those signatures
    # (the personal CAs and the enterprise ones); None checks no inner signature.
    signed_documents: SignedDocuments | None = None
    inner_verifier: SignatureVerifier | None = None
    # Where file transfers' bytes live (``create_app`` sets the configured store) and who checks their payload
    # for resources that name a schema set (None: such a transfer fails, it is never published unchecked).
    file_store: FileStore | None = None
    payload_validator: PayloadValidator | None = None
