"""The token-grant use case: check a bearer-grant assertion against the trust store and the registry.

The checks themselves live in :mod:`broker.auth.grant`; this binds them to the store (registered
certificate, active flag, used ``jti``) inside one transaction, so a ``jti`` counts as used only when the
token was actually granted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from cryptography import x509

from broker.auth.access_tokens import AccessTokens, IssuedToken
from broker.auth.grant import GrantPolicy, grant_access_token
from broker.domain.errors import Error, Refusal
from broker.domain.participants import Participant
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.services import Services
from broker.xml.trust import TrustStore


async def grant_token(
    services: Services,
    trust: TrustStore,
    tokens: AccessTokens,
    policy: GrantPolicy,
    assertion: str,
    origins: Collection[str] = (),
) -> IssuedToken:
    now = services.clock().astimezone(dt.UTC)

    def check_chain(leaf: x509.Certificate, intermediates: list[x509.Certificate]) -> None:
        try:
            trust.validate(leaf, intermediates, now)
        except Refusal as refusal:
            raise Refusal(Error.INVALID_GRANT, f"the certificate is not accepted: {refusal.detail}") from refusal

    async with UnitOfWork(services.engine) as uow:

        async def find_participant(orgnr: str) -> Participant | None:
            return await uow.participants.get(orgnr)

        issued = await grant_access_token(
            assertion,
            policy,
            check_chain,
            find_participant,
            uow.token_ids.use_once,
            tokens,
            now=now.timestamp(),
            find_client=uow.clients.by_kid,
            origins=origins,
        )
        await uow.commit()
    return issued
