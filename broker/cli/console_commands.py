"""Subcommand: ``dsve console add-user``, creating (or updating) a user of the web console.

The password comes from ``--password-file``, else the environment variable ``DSVE_CONSOLE_PASSWORD``,
else a prompt (asked twice); it is never an argument, where it would show in the process list and the
shell history. A participant's staff user needs the orgnr of the one organisation they may see.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from broker.cli.db_commands import add_database_option, database_url, shown_url
from broker.domain.identifiers import is_valid_orgnr

ROLES = ("operator", "participant")
PASSWORD_ENV = "DSVE_CONSOLE_PASSWORD"


class _UsageError(ValueError):
    pass


def _password(args: argparse.Namespace) -> str:
    if args.password_file:
        try:
            return Path(args.password_file).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise _UsageError(f"cannot read the password file: {exc}") from exc
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise _UsageError(f"no password: use --password-file, {PASSWORD_ENV}, or run in a terminal")
    import getpass

    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise _UsageError("the two passwords differ")
    return first


def _check(args: argparse.Namespace) -> None:
    if not args.username.strip() or len(args.username) > 64:
        raise _UsageError("a username has 1 to 64 characters")
    if args.role == "participant" and not args.orgnr:
        raise _UsageError("a participant user needs --orgnr (the organisation they may see)")
    if args.role == "operator" and args.orgnr:
        raise _UsageError("an operator sees every organisation: leave out --orgnr")
    if args.orgnr and not is_valid_orgnr(args.orgnr):
        raise _UsageError(f"{args.orgnr} is not a valid organisation number")


def _add_user(args: argparse.Namespace) -> int:
    import asyncio

    from sqlalchemy.exc import SQLAlchemyError

    from broker.console.passwords import WeakPasswordError, hash_password
    from broker.domain.clock import utc_now
    from broker.store import migrate
    from broker.store.console_user_repository import ConsoleUser, ConsoleUserRepository
    from broker.store.engine import create_engine
    from broker.store.unit_of_work import UnitOfWork

    try:
        _check(args)
        password_hash = hash_password(_password(args))
    except (_UsageError, WeakPasswordError) as exc:
        print(f"dsve console add-user: {exc}", file=sys.stderr)
        return 2
    user = ConsoleUser(args.username.strip(), password_hash, args.role, args.orgnr or None)

    async def run() -> None:
        engine = create_engine(database_url(args))
        try:
            await migrate.upgrade(engine)
            async with UnitOfWork(engine) as uow:
                await ConsoleUserRepository(uow.connection).save(user, utc_now())
                await uow.commit()
        finally:
            await engine.dispose()

    try:
        asyncio.run(run())
    except (SQLAlchemyError, OSError) as exc:
        print(f"dsve console add-user: {shown_url(database_url(args))}: {exc}", file=sys.stderr)
        return 1
    scope = f" for {user.orgnr}" if user.orgnr else ""
    print(f"console user {user.username} ({user.role}{scope}) saved")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    console = subparsers.add_parser("console", help="the web console")
    commands = console.add_subparsers(dest="console_command", metavar="COMMAND", required=True)
    add = commands.add_parser("add-user", help="create or update a console user")
    add.add_argument("--username", required=True)
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--orgnr", help="for a participant user: the organisation they may see")
    add.add_argument("--password-file", metavar="FILE", help=f"read the password from FILE (else {PASSWORD_ENV})")
    add_database_option(add)
    add.set_defaults(func=_add_user)
