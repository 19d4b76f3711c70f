"""the desk's people (issue 22, assignment): an organisation's teams and their members, the team
whose queue a conversation is in, each member's presence choice and capacity, and the
organisation's auto-assignment switch, default capacity and round-robin turn

The conversation's team is added and dropped in place (SQLite's ALTER TABLE), without a foreign
key: deleting a team clears it. Team members and desk members name a membership of the same
organisation (a composite foreign key), so removing a member removes them from its teams.
Row-level security on PostgreSQL covers the four new tables as it covers conversations (0018).

Revision ID: 0026
Revises: 0025
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_SCOPE = "tenant_id = ANY (string_to_array(current_setting('app.tenant_id', true), ','))"
TABLES = ("teams", "team_members", "desk_members", "desk_settings")


def _membership() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["account_id", "tenant_id"],
        ["memberships.account_id", "memberships.tenant_id"],
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.add_column("conversations", sa.Column("team_id", sa.String(64), nullable=True))
    op.create_index(
        "ix_conversations_tenant_team_status", "conversations", ["tenant_id", "team_id", "status"]
    )
    op.create_table(
        "teams",
        sa.Column(
            "tenant_id",
            sa.String(64),
            sa.ForeignKey("tenants.tenant_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("team_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "name", name="uq_teams_tenant_id_name"),
    )
    op.create_table(
        "team_members",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column(
            "team_id",
            sa.String(64),
            sa.ForeignKey("teams.team_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "account_id", name="pk_team_members"),
        _membership(),
    )
    op.create_index(
        "ix_team_members_tenant_id_account_id", "team_members", ["tenant_id", "account_id"]
    )
    op.create_table(
        "desk_members",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("presence", sa.String(16), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "account_id", name="pk_desk_members"),
        _membership(),
    )
    op.create_table(
        "desk_settings",
        sa.Column(
            "tenant_id",
            sa.String(64),
            sa.ForeignKey("tenants.tenant_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("auto_assign", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("default_capacity", sa.Integer(), nullable=False),
        sa.Column("turn", sa.BigInteger(), nullable=False, server_default="0"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_scope ON {table} USING ({IN_SCOPE})")


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
    op.drop_index("ix_conversations_tenant_team_status", "conversations")
    op.drop_column("conversations", "team_id")
