"""the desk's search and customer panel (issue 22): the blind index of messages' words (keyed
tags, never words: docs/search.md), which messages it holds, where each organisation's
indexing got to; end users' latest verified claims, sealed; the assistant's turns indexed by
conversation

Row-level security on PostgreSQL covers the new tables as it covers conversations (0018).
Existing messages are indexed by the indexer when a node starts: no data moves here.

Revision ID: 0028
Revises: 0027
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_SCOPE = "tenant_id = ANY (string_to_array(current_setting('app.tenant_id', true), ','))"
TABLES = ("search_terms", "search_documents", "search_watermarks", "end_user_profiles")


def _tenant() -> sa.Column[str]:
    return sa.Column(
        "tenant_id",
        sa.String(64),
        sa.ForeignKey("tenants.tenant_id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "search_terms",
        _tenant(),
        sa.Column("tag", sa.LargeBinary(), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "tag", "message_id", name="pk_search_terms"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "search_documents",
        _tenant(),
        sa.Column(
            "message_id",
            sa.String(64),
            sa.ForeignKey("messages.message_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("message_id", name="pk_search_documents"),
    )
    op.create_table(
        "search_watermarks",
        sa.Column(
            "tenant_id",
            sa.String(64),
            sa.ForeignKey("tenants.tenant_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_search_watermarks"),
    )
    op.create_table(
        "end_user_profiles",
        _tenant(),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("traits_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", name="pk_end_user_profiles"),
    )
    op.create_index(
        "ix_assistant_turns_tenant_conversation",
        "assistant_turns",
        ["tenant_id", "conversation_id"],
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_scope ON {table} USING ({IN_SCOPE})")


def downgrade() -> None:
    op.drop_index("ix_assistant_turns_tenant_conversation", "assistant_turns")
    for table in reversed(TABLES):
        op.drop_table(table)
