"""A change counter of the participant registry, bumped by triggers on SQLite.

The embedded broker (SQLite) answers "is this caller still active?" from its cache while this counter
stays the same, instead of reading the participant on every request (``registry_version.py``). The
triggers bump it whoever changes the table: the broker, the ``dsve participants`` command in another
process, or SQL typed by an operator. PostgreSQL has the table too (one schema for both) but notifies its
processes of changes instead (migration 0005).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BUMP = "BEGIN UPDATE registry_version SET n = n + 1 WHERE id = 1; END"
_TRIGGERS = {
    "participants_insert_bumps_version": "AFTER INSERT ON participants",
    "participants_update_bumps_version": "AFTER UPDATE ON participants",
    "participants_delete_bumps_version": "AFTER DELETE ON participants",
}


def upgrade() -> None:
    op.create_table(
        "registry_version",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO registry_version (id, n) VALUES (1, 0)")
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, when in _TRIGGERS.items():
        op.execute(" ".join(("CREATE TRIGGER", name, when, _BUMP)))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in _TRIGGERS:
            op.execute("DROP TRIGGER IF EXISTS " + name)
    op.drop_table("registry_version")
