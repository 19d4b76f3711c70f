"""the assistant: settings per tenant, prompt template versions, a record of every turn

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=64)
WHEN = sa.DateTime(timezone=True)


def _tenant() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "assistant_settings",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.Column("external_allowed", sa.Boolean(), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=True),
        sa.Column("updated_at", WHEN, nullable=False),
        _tenant(),
        sa.PrimaryKeyConstraint("tenant_id"),
    )
    op.create_table(
        "prompt_templates",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        _tenant(),
        sa.PrimaryKeyConstraint("tenant_id", "version"),
    )
    op.create_table(
        "assistant_turns",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("message_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=True),
        sa.Column("knowledge_version", sa.Integer(), nullable=True),
        sa.Column("chunk_ids", sa.JSON(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        _tenant(),
        sa.PrimaryKeyConstraint("message_id"),
    )
    op.create_index(
        "ix_assistant_turns_tenant_created", "assistant_turns", ["tenant_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_assistant_turns_tenant_created", table_name="assistant_turns")
    op.drop_table("assistant_turns")
    op.drop_table("prompt_templates")
    op.drop_table("assistant_settings")
