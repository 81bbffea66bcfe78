"""Group commits built on a test broker's store, as the app factory builds them, and submissions to feed them."""

from __future__ import annotations

from typing import Any

from broker.app_keys import CONNECTIONS
from broker.usecases.group_commit import GroupCommit
from broker.usecases.intake import verify_submission
from broker.usecases.storing import AfterCommit, StoreEach
from broker.usecases.submissions import Submission
from tests.http.conftest import BANK, Broker


async def submission_of(broker: Broker, data: bytes, sender: str = BANK) -> Submission:
    """``data`` checked as intake checks it, ready for a writer."""
    services = broker.services
    return Submission(await verify_submission(services, sender, data), services.clock())


def group_commit_on(broker: Broker, **options: Any) -> GroupCommit:
    """A group commit on the broker's store and kept connections; ``options`` are ``GroupCommit``'s own."""
    services = broker.services
    after = AfterCommit(outbox_written=services.outbox_written, messages_stored=lambda _: None)
    ttl = services.settings.message_ttl_s
    alone = StoreEach(services.engine, ttl, after)
    return GroupCommit(alone, broker.client.app[CONNECTIONS], ttl, after, **options)
