"""A participant's RabbitMQ user follows the registry: revoked when it is disabled, granted when enabled.

The registry is written first and decides: a disabled participant is refused on HTTP and held in the outbox
whatever happens here. Its own RabbitMQ user, if it has one, is changed afterwards through the management
API when ``DSVE_AMQP_MANAGEMENT_URL`` is set (``broker.routing.amqp_access``); without it the broker cannot
reach the user, and the commands say what the operator must do by hand.
"""

from __future__ import annotations

from collections.abc import Iterable

from broker.config import Settings
from broker.routing.amqp_access import AmqpAccess, Outcome
from broker.routing.topology import Topology

MANUAL_REVOKE = (
    "DSVE_AMQP_MANAGEMENT_URL is not set: if {orgnr} consumes its queues with a RabbitMQ user of its own, "
    "revoke it yourself (rabbitmqctl clear_permissions -p VHOST USER; rabbitmqctl close_all_user_connections USER)"
)


def amqp_access(settings: Settings) -> AmqpAccess | None:
    """The management API client the settings ask for; None without ``DSVE_AMQP_MANAGEMENT_URL``."""
    if settings.amqp_management_url is None:
        return None
    if settings.amqp_url is None:
        raise ValueError("DSVE_AMQP_MANAGEMENT_URL needs DSVE_AMQP_URL (its virtual host is the one changed)")
    topology = Topology(prefix=settings.amqp_prefix)
    return AmqpAccess(
        settings.amqp_management_url, settings.amqp_url, topology, user_template=settings.amqp_participant_user
    )


async def follow_registry(access: AmqpAccess, states: Iterable[tuple[str, bool]]) -> list[Outcome]:
    """Grant or revoke each (orgnr, active) in turn; stops at the first ``AmqpAccessError``."""
    return [await access.apply(orgnr, active) for orgnr, active in states]
