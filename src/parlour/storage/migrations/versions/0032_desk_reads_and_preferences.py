"""the live desk's state per member (issue 22, T-97, T-98): how far each member has read each
conversation (the Inbox's unread counts, on any of their devices), and each member's desk
preferences in each organisation (browser notifications, a sound)

Both tables carry their organisation and sit behind row-level security on PostgreSQL like
every tenant table (0018, 0021, 0023); a member's rows go with the member's account.

Revision ID: 0032
Revises: 0031
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_SCOPE = "tenant_id = ANY (string_to_array(current_setting('app.tenant_id', true), ','))"
ID = sa.String(64)
WHEN = sa.DateTime(timezone=True)


def _owners(table: str) -> list[sa.Column[str] | sa.ForeignKeyConstraint]:
    """The member whose rows these are: gone with their membership (removed from the
    organisation), their account, or the organisation."""
    return [
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id", "tenant_id"],
            ["memberships.account_id", "memberships.tenant_id"],
            ondelete="CASCADE",
            name=f"fk_{table}_membership",
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "desk_reads",
        *_owners("desk_reads"),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("read_seq", sa.Integer(), nullable=False),
        sa.Column("read_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "account_id", "conversation_id"),
    )
    op.create_table(
        "desk_preferences",
        *_owners("desk_preferences"),
        sa.Column("notify", sa.Boolean(), nullable=False),
        sa.Column("sound", sa.Boolean(), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "account_id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in ("desk_reads", "desk_preferences"):
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_scope ON {table} USING ({IN_SCOPE})")


def downgrade() -> None:
    op.drop_table("desk_preferences")
    op.drop_table("desk_reads")
