"""Subcommands: ``dsve db upgrade|downgrade|current``, the schema migrations of the store.

Every ``dsve`` invocation imports this module to build its parser, so SQLAlchemy and the settings are
imported inside the functions that use them: ``dsve validate`` must not pay for the store.
"""

from __future__ import annotations

import argparse
import sys


def database_url(args: argparse.Namespace) -> str:
    """``--database-url`` when given, else the configured one (``DSVE_DATABASE_URL`` or the SQLite default)."""
    from broker.config import Settings

    return getattr(args, "database_url", None) or Settings.from_env().effective_database_url


def shown_url(url: str) -> str:
    """The URL fit for a terminal or a log: any password is masked."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def add_database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url", metavar="URL", help="the store (default: DSVE_DATABASE_URL, else the SQLite file)"
    )


def _migrate(command: str, args: argparse.Namespace, move: str | None) -> tuple[str, str | None] | None:
    """Run one migration step (``upgrade``/``downgrade`` to ``args.revision``, or none) and read the revision
    the store is at; None when the store could not be reached, after saying why."""
    import asyncio

    from sqlalchemy.exc import SQLAlchemyError

    from broker.store import migrate

    url = database_url(args)
    try:
        if move is not None:
            asyncio.run(getattr(migrate, move)(url, args.revision))
        return url, asyncio.run(migrate.current(url))
    except (SQLAlchemyError, OSError) as exc:
        print(f"dsve db {command}: {shown_url(url)}: {exc}", file=sys.stderr)
        return None


def _upgrade(args: argparse.Namespace) -> int:
    if (done := _migrate("upgrade", args, "upgrade")) is None:
        return 1
    url, revision = done
    print(f"{shown_url(url)}: at revision {revision}")
    return 0


def _downgrade(args: argparse.Namespace) -> int:
    if (done := _migrate("downgrade", args, "downgrade")) is None:
        return 1
    url, revision = done
    print(f"{shown_url(url)}: at revision {revision or 'base (no tables)'}")
    return 0


def _current(args: argparse.Namespace) -> int:
    from broker.store import migrate

    if (done := _migrate("current", args, None)) is None:
        return 1
    url, revision = done
    head = migrate.head_revision()
    state = "up to date" if revision == head else f"behind head {head}"
    print(f"{shown_url(url)}: at revision {revision or 'base (no tables)'} ({state})")
    return 0 if revision == head else 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this group's subcommands."""
    db = subparsers.add_parser("db", help="the store's schema migrations")
    commands = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)

    upgrade = commands.add_parser("upgrade", help="migrate the store up (default: to the newest revision)")
    upgrade.add_argument("revision", nargs="?", default="head")
    add_database_option(upgrade)
    upgrade.set_defaults(func=_upgrade)

    downgrade = commands.add_parser("downgrade", help="migrate the store down ('base' removes every table)")
    downgrade.add_argument("revision")
    add_database_option(downgrade)
    downgrade.set_defaults(func=_downgrade)

    current = commands.add_parser("current", help="show the store's revision; exit 1 when it is behind")
    add_database_option(current)
    current.set_defaults(func=_current)
