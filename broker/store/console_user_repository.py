"""The console's users and their sessions.

A session row is found by the sha256 of the id in the visitor's cookie, so the table alone (a backup, a
read replica) never holds anything that signs anyone in. Expired sessions are ignored on read and
deleted on the next sign-in.

A participant's staff act for their participant: while it is disabled (``dsve participants disable``, or
any registry write that sets it inactive) they cannot sign in, and their live sessions stop working. Both
reads join the participant's ``active`` flag rather than asking a cache, so the change takes effect on the
next request on every broker process, SQLite or PostgreSQL, and enabling it again lets the sessions that
have not expired meanwhile work again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.store.dialect_insert import conflict_insert
from broker.store.tables import console_sessions, console_users, participants


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """Someone who may sign in to the console: an operator, or a participant's staff bound to one orgnr."""

    username: str
    password_hash: str
    role: str
    orgnr: str | None
    active: bool = True


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    username: str
    csrf_token: str
    expires_at: datetime


# An operator is bound to no participant; a participant's staff unless their participant is disabled (staff
# may be created before their organisation is registered: they see nothing until it sends or receives).
_OWN_PARTICIPANT = console_users.outerjoin(participants, participants.c.orgnr == console_users.c.orgnr)
_PARTICIPANT_ACTIVE = sa.or_(console_users.c.orgnr.is_(None), participants.c.active.is_not(False))


def _user(row: sa.Row[Any]) -> ConsoleUser:
    return ConsoleUser(row.username, row.password_hash, row.role, row.orgnr, row.active)


class ConsoleUserRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def save(self, user: ConsoleUser, now: datetime) -> None:
        """Create the user, or replace the password, role and organisation of an existing one."""
        values = {
            "username": user.username,
            "password_hash": user.password_hash,
            "role": user.role,
            "orgnr": user.orgnr,
            "active": user.active,
            "updated_at": now,
        }
        statement = conflict_insert(self._connection, console_users).values(**values, created_at=now)
        await self._connection.execute(
            statement.on_conflict_do_update(index_elements=[console_users.c.username], set_=values)
        )

    async def get(self, username: str) -> ConsoleUser | None:
        result = await self._connection.execute(sa.select(console_users).where(console_users.c.username == username))
        row = result.first()
        return _user(row) if row else None

    async def get_for_sign_in(self, username: str) -> ConsoleUser | None:
        """The user, if it is active and the participant it is bound to (if any) is not disabled; None otherwise."""
        result = await self._connection.execute(
            sa.select(console_users)
            .select_from(_OWN_PARTICIPANT)
            .where(console_users.c.username == username, console_users.c.active.is_(True), _PARTICIPANT_ACTIVE)
        )
        row = result.first()
        return _user(row) if row else None

    async def set_password_hash(self, username: str, password_hash: str, now: datetime) -> None:
        """Store a re-hash made with newer parameters (argon2 asks for it after a successful sign-in)."""
        await self._connection.execute(
            sa.update(console_users)
            .where(console_users.c.username == username)
            .values(password_hash=password_hash, updated_at=now)
        )

    async def start_session(
        self, id_hash: str, username: str, csrf_token: str, now: datetime, expires_at: datetime
    ) -> None:
        await self._connection.execute(sa.delete(console_sessions).where(console_sessions.c.expires_at <= now))
        await self._connection.execute(
            sa.insert(console_sessions).values(
                id_hash=id_hash, username=username, csrf_token=csrf_token, created_at=now, expires_at=expires_at
            )
        )

    async def session_user(self, id_hash: str, now: datetime) -> tuple[ConsoleSession, ConsoleUser] | None:
        """The live session with this id hash and its user; None when expired or ended, or when the user or
        the participant it is bound to is disabled."""
        result = await self._connection.execute(
            sa.select(console_sessions.c.csrf_token, console_sessions.c.expires_at, console_users)
            .select_from(
                console_sessions.join(_OWN_PARTICIPANT, console_users.c.username == console_sessions.c.username)
            )
            .where(
                console_sessions.c.id_hash == id_hash,
                console_sessions.c.expires_at > now,
                console_users.c.active.is_(True),
                _PARTICIPANT_ACTIVE,
            )
        )
        row = result.first()
        if row is None:
            return None
        return ConsoleSession(row.username, row.csrf_token, row.expires_at), _user(row)

    async def end_session(self, id_hash: str) -> None:
        await self._connection.execute(sa.delete(console_sessions).where(console_sessions.c.id_hash == id_hash))
