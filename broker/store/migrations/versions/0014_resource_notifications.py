"""Changes to the resources and their access lists notify the registry channel too (PostgreSQL).

Every file-transfer step read its resource's settings and access list, and an initialize its parties, from
the store: three of a small transfer's statements. Each broker process now keeps them in the registry
cache, which clears itself on a notification of ``dsve_participants`` (migration 0005); these triggers send
that notification from any transaction that changes a resource, so no process acts on settings changed
elsewhere once the change has committed and been heard.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRIGGERS = {"resources_changed": "resources", "resource_access_changed": "resource_access"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table in _TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION dsve_participants_changed()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table in _TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
