"""Status moves that write no index: the passes find messages by columns set once.

A message's status changes two to four times; each change wrote an entry into every one of the messages
table's eight indexes, because one of them (``status, expires_at``) named the status. Without any index on
a column a move writes, PostgreSQL keeps the new row version in the old one's page and touches no index (a
heap-only update), provided the page has room: the table now leaves half of each page free. The expiry
pass, the purge pass and the console's dead letters read partial indexes over ``closed_at`` and
``dead_lettered_at`` instead, which change at most once or twice in a message's life.

Measured on the benchmark's two processes (128 clients): 98 % of the moves heap-only, PostgreSQL's CPU per
message 15–22 % lower with migration 0016 (``bench/README.md``). SQLite has no such updates, but it too
writes only the indexes of the columns an UPDATE changes.

On a store that has run for a while the upgrade rewrites every closed message once (to set ``closed_at``;
a purged one too, or it would stay in the expiry pass's index) and the fill factor holds for pages written
from then on: run it in a quiet hour, and ``VACUUM FULL messages`` later if the old pages should get room.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# PostgreSQL's default fills pages to 100 %; a move then needs a page of its own, and every index with it.
_FILLFACTOR = 50


def _partial_index(name: str, column: str, where: str) -> None:
    op.create_index(name, "messages", [column], postgresql_where=sa.text(where), sqlite_where=sa.text(where))


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("dead_lettered_at", sa.DateTime(timezone=True), nullable=True))
    # A purged message's last change is its purge, a little after it closed: it is out of every pass anyway.
    op.execute("UPDATE messages SET closed_at = status_changed_at WHERE status IN ('confirmed', 'expired', 'purged')")
    op.execute("UPDATE messages SET dead_lettered_at = status_changed_at WHERE status = 'dead_lettered'")
    op.drop_index("ix_messages_status_expires", table_name="messages")
    _partial_index("ix_messages_open_expires", "expires_at", "closed_at IS NULL")
    _partial_index("ix_messages_closed_kept", "closed_at", "closed_at IS NOT NULL AND content IS NOT NULL")
    _partial_index("ix_messages_dead_lettered", "seq", "dead_lettered_at IS NOT NULL")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE messages SET (fillfactor = {_FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE messages RESET (fillfactor)")
    op.drop_index("ix_messages_dead_lettered", table_name="messages")
    op.drop_index("ix_messages_closed_kept", table_name="messages")
    op.drop_index("ix_messages_open_expires", table_name="messages")
    op.create_index("ix_messages_status_expires", "messages", ["status", "expires_at"], unique=False)
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("dead_lettered_at")
        batch.drop_column("closed_at")
