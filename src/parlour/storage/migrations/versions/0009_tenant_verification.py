"""organisations carry their verification by a platform operator

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, never a batch copy: on SQLite a batch drops and recreates `tenants`, and the
# drop would cascade to every row that references it.


def upgrade() -> None:
    # Organisations so far were all made by operators (the CLI): they count as verified.
    op.add_column(
        "tenants",
        sa.Column("verification", sa.String(length=16), server_default="verified", nullable=False),
    )
    op.add_column("tenants", sa.Column("verification_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("tenants", "verification_reason")
    op.drop_column("tenants", "verification")
