"""a conversation's life with people (issue 22, T-100): who it is assigned to and until when it
is snoozed; the status `agent` becomes `assigned`, to the person who first answered it

The new columns are added and dropped in place (SQLite's ALTER TABLE), never by copying a table
others cascade from. Going down, the statuses 0025 added fold back into the three before it:
assigned, pending and snoozed conversations are with an agent, resolved ones with the assistant.

On PostgreSQL conversations are behind forced row-level security: the updates name every
organisation first, as 0018 says a migration that rewrites such rows must (0031 does the same),
and none after. Without it they saw no rows and changed none, silently (0033 repairs a database
that went through 0025 before this fix).

Revision ID: 0025
Revises: 0024
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALL_TENANTS = (
    "SELECT set_config('app.tenant_id', "
    "coalesce((SELECT string_agg(tenant_id, ',') FROM tenants), ''), true)"
)
NO_TENANT = "SELECT set_config('app.tenant_id', '', true)"


def _scoped(*statements: str) -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(ALL_TENANTS)
    for statement in statements:
        op.execute(statement)
    if postgres:
        op.execute(NO_TENANT)


def upgrade() -> None:
    op.add_column("conversations", sa.Column("assignee", sa.String(64), nullable=True))
    op.add_column(
        "conversations", sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True)
    )
    _scoped(
        "UPDATE conversations SET status = 'assigned', assignee = human_account_id"
        " WHERE status = 'agent'"
    )


def downgrade() -> None:
    _scoped(
        "UPDATE conversations SET status = 'agent'"
        " WHERE status IN ('assigned', 'pending', 'snoozed')",
        "UPDATE conversations SET status = 'bot' WHERE status = 'resolved'",
    )
    op.drop_column("conversations", "snoozed_until")
    op.drop_column("conversations", "assignee")
