"""Which store failures count as outages (503, summarised) and which stay faults (500, traceback)."""

from __future__ import annotations

import sqlite3

import sqlalchemy.exc

from broker.store.outages import describe_outage, is_store_outage


def test_connection_failures_are_outages_and_their_description_carries_no_sql() -> None:
    lost = sqlalchemy.exc.DBAPIError(
        "INSERT INTO messages VALUES (:secret)", {"secret": "x"}, ConnectionResetError("reset")
    )
    lost.connection_invalidated = True
    assert is_store_outage(lost)
    assert describe_outage(lost) == "ConnectionResetError: reset"
    assert is_store_outage(ConnectionRefusedError(111, "refused"))
    assert is_store_outage(sqlite3.OperationalError("database is locked"))
    after_loss = sqlalchemy.exc.PendingRollbackError("Can't reconnect until invalid transaction is rolled back.")
    assert is_store_outage(after_loss)


def test_other_failures_are_not_outages() -> None:
    assert not is_store_outage(ValueError("a bug"))
    assert not is_store_outage(sqlite3.OperationalError("no such table: messages"))
    assert not is_store_outage(sqlalchemy.exc.IntegrityError("INSERT", {}, Exception("duplicate key")))
