"""attachments (issue 24, item 4, T-102): a message names the files it carries
(`messages.attachments_sealed`, a sealed JSON list of {id, name, content_type, size,
thumbnail}; null for a message without any), and each file is a row of `attachments`: the file,
its name and its server-made thumbnail sealed with the tenant's key, bound to the row; its type
(judged from its content), size and sender in the clear, for the limits and the audit.

The new table carries its organisation and sits behind row-level security on PostgreSQL like
every tenant table (0018).

Revision ID: 0040
Revises: 0038
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_SCOPE = "tenant_id = ANY (string_to_array(current_setting('app.tenant_id', true), ','))"
ID = sa.String(64)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("attachments_sealed", sa.LargeBinary(), nullable=True))
    op.create_table(
        "attachments",
        sa.Column(
            "tenant_id",
            ID,
            sa.ForeignKey("tenants.tenant_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("attachment_id", ID, primary_key=True),
        sa.Column(
            "conversation_id",
            ID,
            sa.ForeignKey("conversations.conversation_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("message_id", ID, nullable=True),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("name_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("file_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("thumbnail_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("thumbnail_type", sa.String(64), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_index(
        "ix_attachments_tenant_conversation", "attachments", ["tenant_id", "conversation_id"]
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE attachments ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE attachments FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_scope ON attachments USING ({IN_SCOPE})")


def downgrade() -> None:
    op.drop_index("ix_attachments_tenant_conversation", table_name="attachments")
    op.drop_table("attachments")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("attachments_sealed")
