"""reports read rollups kept as events happen, never the sealed messages (issue 21, T-103):
counts per organisation, figure and hour, and the moments of a conversation's life with people
(handed over, first answered by a person and who, resolved) and how the assistant's last turn
ended; and the time zone an organisation's reports read days in

Row-level security on PostgreSQL covers the counts as it covers conversations (0018). The new
columns are added and dropped in place (SQLite's ALTER TABLE), never by copying a table others
cascade from.

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_SCOPE = "tenant_id = ANY (string_to_array(current_setting('app.tenant_id', true), ','))"
CONVERSATION_COLUMNS = (
    ("handed_at", sa.DateTime(timezone=True)),
    ("first_human_reply_at", sa.DateTime(timezone=True)),
    ("human_account_id", sa.String(64)),
    ("resolved_at", sa.DateTime(timezone=True)),
    ("last_turn_outcome", sa.String(16)),
)


def upgrade() -> None:
    op.create_table(
        "report_counts",
        sa.Column(
            "tenant_id",
            sa.String(64),
            sa.ForeignKey("tenants.tenant_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("metric", sa.String(40), nullable=False),
        sa.Column("detail", sa.String(64), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "metric", "hour", "detail"),
    )
    op.add_column(
        "tenants",
        sa.Column("time_zone", sa.String(64), nullable=False, server_default="UTC"),
    )
    for name, kind in CONVERSATION_COLUMNS:
        op.add_column("conversations", sa.Column(name, kind, nullable=True))
    op.create_index("ix_conversations_tenant_created", "conversations", ["tenant_id", "created_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE report_counts ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE report_counts FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_scope ON report_counts USING ({IN_SCOPE})")


def downgrade() -> None:
    # Dropped in place too (SQLite 3.35+): a batch copy of tenants or conversations would
    # drop the table the others cascade from.
    op.drop_index("ix_conversations_tenant_created", "conversations")
    for name, _ in reversed(CONVERSATION_COLUMNS):
        op.drop_column("conversations", name)
    op.drop_column("tenants", "time_zone")
    op.drop_table("report_counts")
