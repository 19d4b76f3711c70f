"""a knowledge source's address on the organisation's site (issue 23, item 5):
`knowledge_sources.source_url`, https only, shown to customers as the citation's link; null for
every source so far. Not sealed, like the source's name; the table is already behind
row-level security on PostgreSQL, and a new column is under its policy.

Revision ID: 0038
Revises: 0035
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("knowledge_sources") as batch:
        batch.add_column(sa.Column("source_url", sa.String(2000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("knowledge_sources") as batch:
        batch.drop_column("source_url")
