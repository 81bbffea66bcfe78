"""The sign-in use case: password check with a backoff per username and per client address.

Failures are counted twice: for the username (from any address) and for the client address (under any
username). After ``free_attempts`` failures of a username, or ``client_free_attempts`` from one address,
every further attempt must wait a doubling delay (capped at ``backoff_max``) counted from the last failure.
An attempt during the wait is refused before the password is hashed, so refusing costs two indexed reads,
not an argon2 hash, and guessing gains nothing from trying faster. Counting per address stops one client
from trying user name after user name; counting per username stops guessing spread over many addresses;
the cap bounds how long anyone else's failures can hold a user back. Behind a proxy the address is the
client's only when the proxy is trusted (``DSVE_TRUSTED_PROXIES``). A success clears the username's count,
not the address's (else a guesser with one account of its own could reset its count between guesses).
Counts whose backoff has long passed, unknown usernames included, are deleted. The password is checked
outside any transaction: argon2 takes its time by design and must not hold the store.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import timedelta

from broker.console.context import ConsoleContext
from broker.console.passwords import hash_password, needs_rehash, verify_password
from broker.store.console_sign_in_repository import ConsoleSignInRepository
from broker.store.console_user_repository import ConsoleUser, ConsoleUserRepository
from broker.store.unit_of_work import UnitOfWork

log = logging.getLogger("broker.console")

MAX_USERNAME_LENGTH = 64
# A count is forgotten when its last failure is this many longest waits old: whatever it held back is over.
FORGET_FACTOR = 2


@dataclass(frozen=True, slots=True)
class SignInOutcome:
    user: ConsoleUser | None = None
    retry_after_s: int = 0  # > 0: refused without a check; try again after this many seconds

    @property
    def ok(self) -> bool:
        return self.user is not None


# The key of a count that is per username only or per address only (neither can be empty in a real attempt).
ANY = ""


async def sign_in(ctx: ConsoleContext, username: str, password: str, client: str) -> SignInOutcome:
    username = username.strip()[:MAX_USERNAME_LENGTH]
    client = client[:64] or "unknown"
    if not username:
        return SignInOutcome()
    now = ctx.clock()
    options = ctx.options
    async with UnitOfWork(ctx.engine) as uow:
        failures = ConsoleSignInRepository(uow.connection)
        per_user = await failures.get(username, ANY)
        per_client = await failures.get(ANY, client)
        waits = [
            options.backoff_after(record.failures, free) - (now - record.last_failure_at)
            for record, free in ((per_user, options.free_attempts), (per_client, options.client_free_attempts))
            if record is not None
        ]
        wait = max(waits, default=timedelta(0))
        if wait.total_seconds() > 0:
            log.warning("console sign-in refused: backing off", extra={"username": username, "client": client})
            return SignInOutcome(retry_after_s=max(1, math.ceil(wait.total_seconds())))
        # Neither a disabled user nor the staff of a disabled participant: the same answer as a wrong password.
        user = await ConsoleUserRepository(uow.connection).get_for_sign_in(username)
    matches = await verify_password(user.password_hash if user is not None else None, password)
    if user is None or not matches:
        async with UnitOfWork(ctx.engine) as uow:
            failures = ConsoleSignInRepository(uow.connection)
            await failures.forget_before(now - FORGET_FACTOR * options.backoff_max)
            await failures.record_failure(username, ANY, now)
            await failures.record_failure(ANY, client, now)
            await uow.commit()
        log.warning("console sign-in failed", extra={"username": username, "client": client})
        return SignInOutcome()
    async with UnitOfWork(ctx.engine) as uow:
        await ConsoleSignInRepository(uow.connection).clear(username, ANY)
        if needs_rehash(user.password_hash):
            await ConsoleUserRepository(uow.connection).set_password_hash(username, hash_password(password), now)
        await uow.commit()
    log.info("console sign-in", extra={"username": username, "client": client, "role": user.role})
    return SignInOutcome(user=user)
