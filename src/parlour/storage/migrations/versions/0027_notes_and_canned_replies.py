"""the agents' tools (issue 22): private notes on a conversation, in a table of their own so that
nothing that reads messages can carry one to a customer (T-99), and an organisation's canned
replies, a shortcut unique in the organisation; both bodies sealed with the tenant's key.

Row-level security on PostgreSQL covers both as it covers conversations (0018, T-98).

Revision ID: 0027
Revises: 0026
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_SCOPE = "tenant_id = ANY (string_to_array(current_setting('app.tenant_id', true), ','))"
TABLES = ("conversation_notes", "canned_replies")


def _tenant() -> sa.Column[str]:
    return sa.Column(
        "tenant_id",
        sa.String(64),
        sa.ForeignKey("tenants.tenant_id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "conversation_notes",
        _tenant(),
        sa.Column("note_id", sa.String(64), primary_key=True),
        sa.Column(
            "conversation_id",
            sa.String(64),
            sa.ForeignKey("conversations.conversation_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("author_id", sa.String(64), nullable=False),
        sa.Column("body_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_conversation_notes_tenant_conversation",
        "conversation_notes",
        ["tenant_id", "conversation_id", "created_at"],
    )
    op.create_table(
        "canned_replies",
        _tenant(),
        sa.Column("reply_id", sa.String(64), primary_key=True),
        sa.Column("shortcut", sa.String(64), nullable=False),
        sa.Column("body_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "shortcut", name="uq_canned_replies_tenant_shortcut"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_scope ON {table} USING ({IN_SCOPE})")


def downgrade() -> None:
    op.drop_table("canned_replies")
    op.drop_index("ix_conversation_notes_tenant_conversation", "conversation_notes")
    op.drop_table("conversation_notes")
