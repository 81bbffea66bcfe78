"""Subcommands: ``dsve participants add|list|disable|enable|load``, the participant registry.

Every command first brings the store's schema up to date, so a fresh deployment can be seeded with
nothing run before it. Every ``dsve`` invocation imports this module to build its parser, so SQLAlchemy,
the store and the registry are imported inside the commands.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from broker.cli.db_commands import add_database_option, database_url, shown_url
from broker.domain.participants import Participant
from broker.domain.roles import Role

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

T = TypeVar("T")


def _with_store(args: argparse.Namespace, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    import asyncio

    from broker.store import migrate
    from broker.store.engine import create_engine

    async def run() -> T:
        engine = create_engine(database_url(args))
        try:
            await migrate.upgrade(engine)
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _report_store_error(command: str, args: argparse.Namespace, exc: Exception) -> int:
    print(f"dsve participants {command}: {shown_url(database_url(args))}: {exc}", file=sys.stderr)
    return 1


def _follow_in_rabbitmq(command: str, states: list[tuple[str, bool]]) -> int:
    """After a registry write: revoke or grant the participants' own RabbitMQ users; the exit status."""
    import asyncio

    from broker.config import Settings
    from broker.routing.amqp_access import AmqpAccessError
    from broker.usecases.participant_access import MANUAL_REVOKE, amqp_access, follow_registry

    try:
        access = amqp_access(Settings.from_env())
    except ValueError as exc:
        print(f"dsve participants {command}: the registry is changed, RabbitMQ is not: {exc}", file=sys.stderr)
        return 2
    if access is None:
        for orgnr, active in states:
            if not active:
                print(MANUAL_REVOKE.format(orgnr=orgnr))
        return 0
    try:
        outcomes = asyncio.run(follow_registry(access, states))
    except AmqpAccessError as exc:
        print(
            f"dsve participants {command}: the registry is changed, but not RabbitMQ: {exc} "
            "(DSVE_AMQP_MANAGEMENT_URL); run the command again",
            file=sys.stderr,
        )
        return 1
    for outcome in outcomes:
        print(outcome.done)
    return 0


def _add(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from broker.config import Settings
    from broker.registry import RegistryError, build_participant, read_catalogue_entries
    from broker.usecases.participant_registration import register_participants

    try:
        certificate_pem = Path(args.cert).read_text(encoding="ascii")
        participant = build_participant(
            orgnr=args.orgnr,
            role=args.role,
            name=args.name,
            certificate_pem=certificate_pem,
            entries=read_catalogue_entries(Settings.from_env().xsd_dir),
            sends=args.sends,
            receives=args.receives,
            active=not args.inactive,
        )
    except (OSError, UnicodeDecodeError, RegistryError) as exc:
        print(f"dsve participants add: {exc}", file=sys.stderr)
        return 2
    try:
        _with_store(args, lambda engine: register_participants(engine, [participant]))
    except (SQLAlchemyError, OSError) as exc:
        return _report_store_error("add", args, exc)
    print(
        f"registered {participant.orgnr} {participant.name} ({participant.role.value}): "
        f"sends {len(participant.sends)} types, receives {len(participant.receives)}"
    )
    return _follow_in_rabbitmq("add", [(participant.orgnr, participant.active)])


def _add_client(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from broker.auth.clients import RegisteredClient, check_public_key
    from broker.store.unit_of_work import UnitOfWork

    try:
        pem = args.public_key.read_text(encoding="ascii")
        check_public_key(pem)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        print(f"dsve participants add-client: {exc}", file=sys.stderr)
        return 2
    client = RegisteredClient(args.client_id, args.orgnr, args.kid, pem)

    async def register_client(engine: AsyncEngine) -> bool:
        async with UnitOfWork(engine) as uow:
            if await uow.participants.get(client.orgnr) is None:
                return False
            await uow.clients.register(client)
            await uow.commit()
        return True

    try:
        registered = _with_store(args, register_client)
    except (SQLAlchemyError, OSError) as exc:
        return _report_store_error("add-client", args, exc)
    if not registered:
        print(f"dsve participants add-client: {client.orgnr} is not a registered participant", file=sys.stderr)
        return 1
    print(f"registered client {client.client_id} (kid {client.kid}) for {client.orgnr}")
    return 0


def _as_json(participant: Participant) -> dict[str, object]:
    return {
        "orgnr": participant.orgnr,
        "role": participant.role.value,
        "name": participant.name,
        "active": participant.active,
        "sends": sorted(participant.sends),
        "receives": sorted(participant.receives),
    }


def _table(participants: list[Participant]) -> str:
    header = ("ORGNR", "ROLE", "ACTIVE", "SENDS", "RECEIVES", "NAME")
    rows = [
        (p.orgnr, p.role.value, "yes" if p.active else "no", str(len(p.sends)), str(len(p.receives)), p.name)
        for p in participants
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]).rstrip()
        for row in [header, *rows]
    )


def _list(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from broker.store.unit_of_work import UnitOfWork

    async def fetch(engine: AsyncEngine) -> list[Participant]:
        async with UnitOfWork(engine) as uow:
            return await uow.participants.list()

    try:
        participants = _with_store(args, fetch)
    except (SQLAlchemyError, OSError) as exc:
        return _report_store_error("list", args, exc)
    if args.format == "json":
        print(json.dumps([_as_json(p) for p in participants], ensure_ascii=False, indent=2))
    else:
        print(_table(participants))
    return 0


def _set_active(active: bool) -> Callable[[argparse.Namespace], int]:
    command = "enable" if active else "disable"

    def run(args: argparse.Namespace) -> int:
        from sqlalchemy.exc import SQLAlchemyError

        from broker.store.unit_of_work import UnitOfWork

        async def change(engine: AsyncEngine) -> bool:
            async with UnitOfWork(engine) as uow:
                changed = await uow.participants.set_active(args.orgnr, active)
                await uow.commit()
                return changed

        try:
            changed = _with_store(args, change)
        except (SQLAlchemyError, OSError) as exc:
            return _report_store_error(command, args, exc)
        if not changed:
            print(f"dsve participants {command}: {args.orgnr} is not registered", file=sys.stderr)
            return 1
        print(f"{args.orgnr} {command}d")
        return _follow_in_rabbitmq(command, [(args.orgnr, active)])

    return run


def _load(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from broker.config import Settings
    from broker.registry import RegistryError, load_participants_file
    from broker.usecases.participant_registration import register_participants

    try:
        participants = load_participants_file(args.file, Settings.from_env().xsd_dir)
    except RegistryError as exc:
        print(f"dsve participants load: {exc}", file=sys.stderr)
        return 2
    try:
        count = _with_store(args, lambda engine: register_participants(engine, participants))
    except (SQLAlchemyError, OSError) as exc:
        return _report_store_error("load", args, exc)
    print(f"registered {count} participants from {args.file}")
    return _follow_in_rabbitmq("load", [(p.orgnr, p.active) for p in participants])


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this group's subcommands."""
    group = subparsers.add_parser("participants", help="the participant registry")
    commands = group.add_subparsers(dest="participants_command", metavar="COMMAND", required=True)

    add = commands.add_parser("add", help="register a participant, or update one already registered")
    add.add_argument("--orgnr", required=True)
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--name", required=True)
    add.add_argument("--cert", required=True, metavar="PEM", help="its enterprise certificate")
    add.add_argument("--sends", nargs="+", metavar="TYPE", help="default: every type the catalogue lets its role send")
    add.add_argument("--receives", nargs="+", metavar="TYPE", help="default: every type its role may receive")
    add.add_argument("--inactive", action="store_true", help="register it disabled")
    add_database_option(add)
    add.set_defaults(func=_add)

    listing = commands.add_parser("list", help="show the registered participants")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    add_database_option(listing)
    listing.set_defaults(func=_list)

    for active, verb in ((False, "disable"), (True, "enable")):
        command = commands.add_parser(
            verb,
            help=f"{verb} a participant: "
            + ("it may send and receive again" if active else "it can no longer send or receive"),
        )
        command.add_argument("orgnr", metavar="ORGNR")
        add_database_option(command)
        command.set_defaults(func=_set_active(active))

    client = commands.add_parser(
        "add-client", help="register a Maskinporten-style client: its id and the public key of its key id (kid)"
    )
    client.add_argument("--orgnr", required=True, help="the participant the client acts for")
    client.add_argument("--client-id", required=True, help="the client id its grants name as iss")
    client.add_argument("--kid", required=True, help="the key id its grants name in the JWT header")
    client.add_argument("--public-key", required=True, metavar="PEM", type=Path, help="the RSA or EC public key")
    add_database_option(client)
    client.set_defaults(func=_add_client)

    load = commands.add_parser("load", help="register every participant of a TOML seed file (idempotent)")
    load.add_argument("file", metavar="FILE", type=Path)
    add_database_option(load)
    load.set_defaults(func=_load)
