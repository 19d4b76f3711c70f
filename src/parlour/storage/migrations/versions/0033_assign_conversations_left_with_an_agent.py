"""conversations 0025 left in the status `agent` on PostgreSQL become `assigned` to the person
who first answered them, as 0025 meant

0025 rewrote the status without naming any organisation; behind the forced row-level security
of conversations (0018) it saw no rows and changed none, so a database that went through it
kept conversations in a status the code no longer knows. 0025 now names every organisation;
this repeats its update, the same way, for a database migrated before that fix. Elsewhere (on
SQLite, or a database 0025 migrated since) it finds no such row and changes nothing.

Revision ID: 0033
Revises: 0032
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALL_TENANTS = (
    "SELECT set_config('app.tenant_id', "
    "coalesce((SELECT string_agg(tenant_id, ',') FROM tenants), ''), true)"
)
NO_TENANT = "SELECT set_config('app.tenant_id', '', true)"


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(ALL_TENANTS)
    op.execute(
        "UPDATE conversations SET status = 'assigned', assignee = human_account_id"
        " WHERE status = 'agent'"
    )
    if postgres:
        op.execute(NO_TENANT)


def downgrade() -> None:
    """Nothing to undo: the conversations repaired are where 0025 meant them to be."""
