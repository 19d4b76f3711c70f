"""used token ids: single use of end-user and visitor tokens survives a restart (T-15, T-04)

Until now the embedded profile remembered used token ids in process memory, so a restarted
node accepted a used token again. Not under row-level security: a row holds a digest of a
token id and its expiry, nothing an organisation or its customers wrote.

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "used_token_ids",
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "token_digest"),
    )
    op.create_index("ix_used_token_ids_expires_at", "used_token_ids", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_used_token_ids_expires_at", table_name="used_token_ids")
    op.drop_table("used_token_ids")
