"""SQLite statements compiled once by SQLAlchemy and run on the connection's own thread, several to a trip.

At low rates every submission is a transaction of its own on the embedded default, and each statement
through SQLAlchemy's async engine costs the event loop far more than SQLite's answer: a cache-key walk of
the statement, an execution context, bind and result processing, a greenlet switch and a trip to
aiosqlite's thread and back (profiled: the group commit of a lone message was the largest share of the
broker's ~10 ms of CPU per message at 20 msg/s). A ``Prepared`` statement is the SQL and the bind
processors SQLAlchemy itself chose for the table's column types, taken once at first use, so the values
written are exactly those SQLAlchemy would write; a caller runs a whole step (several statements) as one
function on the connection's thread (``run_on_connection``).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import aiosqlite
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler

from broker.json_text import json_str, json_value
from broker.store.sqlite_driver import OneTripConnection
from broker.store.sqlite_write_gate import WriteGate
from broker.store.tables import UtcDateTime

_T = TypeVar("_T")

# The engine's own JSON codec (``engine.create_engine``), so a column holds one text form whichever path wrote it.
_DIALECT = sqlite.dialect(paramstyle="qmark", json_serializer=json_str, json_deserializer=json_value)
_NO_GATE = WriteGate(":memory:", 0.0)  # no file: takes no lock


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    constants: Mapping[str, Any]  # the statement's own literals (``max(seq) + 1``), by bind name


def _utc_text(value: datetime) -> str:
    """A ``UtcDateTime`` as SQLAlchemy's SQLite dialect writes it (UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``), at a
    third of the cost of its type decorator and format string: a few timestamps in every row written."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


def _bind_processor(type_: sa.types.TypeEngine[Any]) -> Callable[[Any], Any] | None:
    if isinstance(type_, UtcDateTime):
        return _utc_text
    return type_.dialect_impl(_DIALECT).bind_processor(_DIALECT)


class Prepared:
    """A statement, compiled at its first use (not at import: every process that imports the store would
    pay for the ones it never runs, PostgreSQL deployments all of them)."""

    def __init__(self, statement: sa.ClauseElement) -> None:
        self._statement = statement

    @classmethod
    def of(cls, statement: sa.ClauseElement) -> Prepared:
        return cls(statement)

    @functools.cached_property
    def _compiled(self) -> _Compiled:
        compiled = self._statement.compile(dialect=_DIALECT)
        assert isinstance(compiled, SQLCompiler)
        names = tuple(compiled.positiontup or ())
        binds = [compiled.binds[name] for name in names]
        processors = tuple(_bind_processor(bind.type) for bind in binds)
        constants = {name: bind.value for name, bind in zip(names, binds, strict=True) if not bind.required}
        return _Compiled(str(compiled), names, processors, constants)

    @property
    def sql(self) -> str:
        return self._compiled.sql

    @property
    def constants(self) -> Mapping[str, Any]:
        return self._compiled.constants

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The positional parameters for ``values`` (by bind name), converted as SQLAlchemy converts them."""
        compiled = self._compiled
        given = (values[name] if name in values else compiled.constants[name] for name in compiled.names)
        return tuple(
            value if process is None or value is None else process(value)
            for value, process in zip(given, compiled.processors, strict=True)
        )


def bound(table: sa.Table, columns: tuple[str, ...]) -> dict[str, sa.BindParameter[Any]]:
    """``column: bindparam(column)`` for an insert's ``values``, typed as the table's columns."""
    return {column: sa.bindparam(column, type_=table.c[column].type) for column in columns}


async def run_on_connection(
    connection: AsyncConnection,
    function: Callable[..., _T],
    *args: object,
    commit_if: Callable[[_T], bool] | None = None,
) -> _T:
    """``function(sqlite3 connection, write gate, *args)`` on the connection's thread, inside the caller's
    transaction (the sqlite3 module begins it at the first write; the caller commits as usual).

    With ``commit_if``, the same trip commits when it holds for the result: for a caller that commits next
    with nothing written between, whose commit then costs no trip (``OneTripConnection.run_then_commit``).
    The caller still commits, which ends the transaction where the trip did not.

    SQLAlchemy must know of that transaction: its ``commit`` and ``rollback`` reach the connection only
    while it counts one as begun, and a unit of work whose only statements ran here had none, so its
    commit did nothing and its writes waited, uncommitted, for the next user of the kept connection."""
    if not connection.in_transaction():
        await connection.begin()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if isinstance(driver, OneTripConnection):
        if commit_if is not None:
            return await driver.run_then_commit(function, commit_if, *args)
        return await driver.run(function, driver.gate, *args)
    if isinstance(driver, aiosqlite.Connection):  # an engine of plain aiosqlite (tools, tests): no write queue
        plain = cast(Callable[[Callable[[], _T]], Awaitable[_T]], driver._execute)
        sqlite_connection = driver._conn
        return await plain(lambda: function(sqlite_connection, _NO_GATE, *args))
    raise TypeError(f"run_on_connection needs an aiosqlite connection, not {type(driver).__name__}")
