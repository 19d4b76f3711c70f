"""knowledge vectors, state and quarantine

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("faq_entries") as batch:
        batch.add_column(sa.Column("vector_sealed", sa.LargeBinary(), nullable=True))
    op.create_table(
        "knowledge_state",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("embedding_model", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id"),
    )
    op.create_table(
        "knowledge_quarantine",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("question_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("answer_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("item_id"),
    )
    op.create_index("ix_knowledge_quarantine_tenant", "knowledge_quarantine", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_knowledge_quarantine_tenant", table_name="knowledge_quarantine")
    op.drop_table("knowledge_quarantine")
    op.drop_table("knowledge_state")
    with op.batch_alter_table("faq_entries") as batch:
        batch.drop_column("vector_sealed")
