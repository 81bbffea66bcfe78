"""Notify ``dsve_participants`` on every change to the participants (PostgreSQL), for the registry caches.

Each broker process caches the participant registry between group-commit batches (``registry_cache.py``).
A statement-level trigger sends the notification from the changing transaction, so it reaches every
listening process when that transaction commits, whoever made the change: the CLI, another broker
process, or SQL typed by an operator.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE OR REPLACE FUNCTION dsve_participants_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('dsve_participants', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER participants_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON participants"
        " FOR EACH STATEMENT EXECUTE FUNCTION dsve_participants_changed()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS participants_changed ON participants")
    op.execute("DROP FUNCTION IF EXISTS dsve_participants_changed()")
