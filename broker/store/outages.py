"""Which failures of the store are outages (the database is away, restarting or failing over) rather than
faults of the broker, and how to name one in a log line without the statement or its parameters.

An outage is answered 503 and logged as a summary; anything else stays an internal error with its traceback.
"""

from __future__ import annotations

import sqlite3

import sqlalchemy.exc

from broker import outage_log

# SQLSTATE classes and codes that mean "the server is not there for you now": connection exceptions (08),
# operator intervention (57P01 shutdown, 57P02 crash shutdown, 57P03 starting up), too many connections,
# and a read-only transaction (the server went into recovery, or a failover has not finished).
_OUTAGE_SQLSTATE_PREFIXES = ("08", "57P")
_OUTAGE_SQLSTATES = frozenset({"53300", "25006"})
_SQLITE_OUTAGES = ("database is locked", "unable to open database file", "disk i/o error")
_CAUSES_FOLLOWED = 8


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < _CAUSES_FOLLOWED and current not in chain:
        chain.append(current)
        if isinstance(current, sqlalchemy.exc.DBAPIError) and current.orig is not None:
            current = current.orig
        else:
            current = current.__cause__ or current.__context__
    return chain


def _is_outage_cause(cause: BaseException) -> bool:
    if isinstance(cause, sqlalchemy.exc.DBAPIError) and cause.connection_invalidated:
        return True
    if isinstance(cause, sqlalchemy.exc.PendingRollbackError) and "invalid transaction" in str(cause):
        return True  # a statement after the connection was lost inside a transaction (an unlock in ``finally``)
    if isinstance(cause, OSError | TimeoutError | sqlalchemy.exc.TimeoutError):
        return True  # refused, reset, unreachable; a pool or connect timeout
    sqlstate = getattr(cause, "sqlstate", None)
    if isinstance(sqlstate, str) and (sqlstate in _OUTAGE_SQLSTATES or sqlstate.startswith(_OUTAGE_SQLSTATE_PREFIXES)):
        return True
    name = type(cause).__name__
    if name == "TargetServerAttributeNotMatched":  # asyncpg: no host of a multi-host URL takes writes (yet)
        return True
    if name == "InterfaceError" and "closed" in str(cause):  # asyncpg: the connection was closed under us
        return True
    return isinstance(cause, sqlite3.OperationalError) and str(cause).lower().startswith(_SQLITE_OUTAGES)


def is_store_outage(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the database cannot be reached or cannot take writes now."""
    return any(_is_outage_cause(cause) for cause in _causes(exc))


def describe_outage(exc: BaseException) -> str:
    """The deepest cause as ``Type: first line``: never SQLAlchemy's text, which carries the statement and
    its parameters."""
    chain = _causes(exc)
    root = next((c for c in reversed(chain) if not isinstance(c, sqlalchemy.exc.SQLAlchemyError)), chain[-1])
    if isinstance(root, sqlalchemy.exc.SQLAlchemyError):
        return type(root).__name__
    first_line = (str(root).strip().splitlines() or [""])[0][:200]
    return f"{type(root).__name__}: {first_line}" if first_line else type(root).__name__


def note_store_outage(exc: BaseException) -> bool:
    """Count ``exc`` toward the database's outage log when it is an outage; whether it was one (the caller
    logs anything else as the fault it is)."""
    if not is_store_outage(exc):
        return False
    outage_log.DATABASE.failed(describe_outage(exc))
    return True
