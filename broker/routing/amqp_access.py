"""A participant's own RabbitMQ user: its permissions follow the registry, through the management HTTP API.

A participant may consume its queues with AMQP credentials of its own. Disabling it in the registry stops
its HTTP access and holds what the relay would publish to it, but the queues still hold what was published
before, and a RabbitMQ user keeps its permissions and its open connections until someone takes them away.
With ``DSVE_AMQP_MANAGEMENT_URL`` set (the management plugin's API, with an administrator's credentials),
the registry commands do that: disabling revokes the user's permissions in the broker's virtual host and
closes its connections, so it can neither read what waits on its queues nor reconnect; enabling grants
exactly what a consumer of its own queues needs (``participant_permissions``) and nothing else. The user
itself (and its password) is the operator's: the broker never creates or deletes one, and a participant
without one is left alone.

The management API lists a new connection only after its next statistics round (up to
``collect_statistics_interval``, 5 s by default), so a disable closes the user's connections, waits that
long and closes again: a connection opened just before the permissions went is caught by the second pass,
and none can be opened after them.
"""

from __future__ import annotations

import asyncio
import base64
import re
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp
from yarl import URL

from broker.routing.amqp_nodes import node_urls
from broker.routing.topology import Topology

# Long enough for RabbitMQ's default statistics interval (5 s) to list a connection opened just before.
LISTING_LAG_S = 6.0
DEFAULT_USER_TEMPLATE = "{orgnr}"
CLOSE_REASON = "participant disabled in the DSVE broker's registry"


class AmqpAccessError(RuntimeError):
    """The management API could not be reached or refused the change."""


def participant_permissions(topology: Topology, orgnr: str) -> dict[str, str]:
    """Read (consume, get, ack, reject) on its own queues and nothing else: the broker declares and binds every
    queue, so a participant's consumer declares nothing (a passive declare needs no permission) and publishes
    nothing. Configure would let it delete its queues, write would let it publish into them."""
    queues = "|".join(re.escape(name) for name in topology.participant_queues(orgnr))
    return {"configure": "^$", "write": "^$", "read": f"^({queues})$"}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What was done to one participant's RabbitMQ user, in words for the operator."""

    user: str
    done: str


class AmqpAccess:
    """Grants and revokes participants' RabbitMQ permissions through the management HTTP API."""

    def __init__(
        self,
        management_url: str,
        amqp_url: str,
        topology: Topology,
        *,
        user_template: str = DEFAULT_USER_TEMPLATE,
        listing_lag_s: float = LISTING_LAG_S,
        timeout_s: float = 10.0,
    ) -> None:
        url = URL(management_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("DSVE_AMQP_MANAGEMENT_URL must be an http(s) URL, e.g. http://admin:secret@rabbit:15672/")
        if "{orgnr}" not in user_template:
            raise ValueError("DSVE_AMQP_PARTICIPANT_USER must contain {orgnr}")
        credentials = f"{url.user or ''}:{url.password or ''}".encode()
        self._headers = {"Authorization": "Basic " + base64.b64encode(credentials).decode("ascii")} if url.user else {}
        self._api = str(url.with_user(None).with_password(None).with_query(None).with_fragment(None)).rstrip("/")
        self._api += "/api"
        self.vhost = URL(node_urls(amqp_url)[0]).path[1:] or "/"
        self.topology = topology
        self.user_template = user_template
        self.listing_lag_s = listing_lag_s
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    def user(self, orgnr: str) -> str:
        return self.user_template.format(orgnr=orgnr, prefix=self.topology.prefix)

    async def apply(self, orgnr: str, active: bool) -> Outcome:
        """Grant or revoke as the participant's ``active`` flag says; ``AmqpAccessError`` when the API fails."""
        try:
            async with aiohttp.ClientSession(timeout=self._timeout, headers=self._headers) as session:
                return await (self._grant(session, orgnr) if active else self._revoke(session, orgnr))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise AmqpAccessError(f"the RabbitMQ management API did not answer: {exc or type(exc).__name__}") from exc

    async def _grant(self, session: aiohttp.ClientSession, orgnr: str) -> Outcome:
        """Give the participant's user exactly the permissions on its own queues (replacing any it had)."""
        user = self.user(orgnr)
        status = await self._call(
            session, "PUT", self._permissions(user), participant_permissions(self.topology, orgnr)
        )
        if status == 400:  # RabbitMQ's answer when the user (or the virtual host) does not exist
            return Outcome(user, f"no RabbitMQ user {user} in virtual host {self.vhost}: nothing granted")
        return Outcome(user, f"RabbitMQ user {user} may consume its own queues")

    async def _revoke(self, session: aiohttp.ClientSession, orgnr: str) -> Outcome:
        """Take the user's permissions away, then close its connections (twice: see the module's note)."""
        user = self.user(orgnr)
        await self._call(session, "DELETE", self._permissions(user))
        closed = await self._close_connections(session, user)
        if self.listing_lag_s > 0:
            await asyncio.sleep(self.listing_lag_s)
            closed += await self._close_connections(session, user)
        return Outcome(user, f"RabbitMQ user {user}: permissions revoked, {closed} connection(s) closed")

    def _permissions(self, user: str) -> str:
        return f"{self._api}/permissions/{quote(self.vhost, safe='')}/{quote(user, safe='')}"

    async def _close_connections(self, session: aiohttp.ClientSession, user: str) -> int:
        async with session.get(f"{self._api}/connections?columns=name,user,vhost") as response:
            if response.status != 200:
                raise AmqpAccessError(f"listing the connections: HTTP {response.status}")
            connections = await response.json()
        names = [c["name"] for c in connections if c.get("user") == user and c.get("vhost") == self.vhost]
        closed = 0
        for name in names:
            url = f"{self._api}/connections/{quote(name, safe='')}"
            status = await self._call(session, "DELETE", url, headers={"X-Reason": CLOSE_REASON})
            closed += status < 300  # 404: it was gone already (closed by the first pass, still listed)
        return closed

    @staticmethod
    async def _call(
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        body: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> int:
        """One request; its status when 2xx, 400 or 404 (the callers' business), an error otherwise."""
        async with session.request(method, URL(url, encoded=True), json=body, headers=headers) as response:
            if response.status >= 300 and response.status not in (400, 404):
                raise AmqpAccessError(f"{method} {URL(url, encoded=True).path}: HTTP {response.status}")
            return response.status
