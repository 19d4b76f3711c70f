"""a knowledge source's address on the organisation's site (issue 23, item 5):
`knowledge_sources.source_url`, https only, shown to customers as the citation's link; null for
every source so far; and `knowledge_imports.source_url`, carried by a background import to the
source it makes. Not sealed, like the source's name; the table is already behind
row-level security on PostgreSQL, and a new column is under its policy.

Revision ID: 0038
Revises: 0037
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The source's, and the background import's that will make it.
    for table in ("knowledge_sources", "knowledge_imports"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("source_url", sa.String(2000), nullable=True))


def downgrade() -> None:
    for table in ("knowledge_imports", "knowledge_sources"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("source_url")
