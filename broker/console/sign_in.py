"""The sign-in use case: password check with a per-user-and-client backoff after repeated failures.

After ``free_attempts`` failures from one client for one username, every further attempt must wait a
doubling delay (capped) counted from the last failure; an attempt during the wait is refused without
checking the password, so guessing gains nothing from trying faster. A success clears the count. The
password is checked outside any transaction: argon2 takes its time by design and must not hold the store.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from broker.console.context import ConsoleContext
from broker.console.passwords import hash_password, needs_rehash, verify_password
from broker.store.console_sign_in_repository import ConsoleSignInRepository
from broker.store.console_user_repository import ConsoleUser, ConsoleUserRepository
from broker.store.unit_of_work import UnitOfWork

log = logging.getLogger("broker.console")

MAX_USERNAME_LENGTH = 64


@dataclass(frozen=True, slots=True)
class SignInOutcome:
    user: ConsoleUser | None = None
    retry_after_s: int = 0  # > 0: refused without a check; try again after this many seconds

    @property
    def ok(self) -> bool:
        return self.user is not None


async def sign_in(ctx: ConsoleContext, username: str, password: str, client: str) -> SignInOutcome:
    username = username.strip()[:MAX_USERNAME_LENGTH]
    client = client[:64]
    now = ctx.clock()
    async with UnitOfWork(ctx.engine) as uow:
        record = await ConsoleSignInRepository(uow.connection).get(username, client)
        user = await ConsoleUserRepository(uow.connection).get(username)
    if record is not None:
        wait = ctx.options.backoff_after(record.failures) - (now - record.last_failure_at)
        if wait.total_seconds() > 0:
            log.warning("console sign-in refused: backing off", extra={"username": username, "client": client})
            return SignInOutcome(retry_after_s=max(1, math.ceil(wait.total_seconds())))
    if user is not None and not user.active:
        user = None
    matches = await verify_password(user.password_hash if user is not None else None, password)
    if user is None or not matches:
        async with UnitOfWork(ctx.engine) as uow:
            await ConsoleSignInRepository(uow.connection).record_failure(username, client, now)
            await uow.commit()
        log.warning("console sign-in failed", extra={"username": username, "client": client})
        return SignInOutcome()
    async with UnitOfWork(ctx.engine) as uow:
        await ConsoleSignInRepository(uow.connection).clear(username, client)
        if needs_rehash(user.password_hash):
            await ConsoleUserRepository(uow.connection).set_password_hash(username, hash_password(password), now)
        await uow.commit()
    log.info("console sign-in", extra={"username": username, "client": client, "role": user.role})
    return SignInOutcome(user=user)
