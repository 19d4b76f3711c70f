"""an FAQ entry's other phrasings of its question, written by the organisation (issue 23):
`faq_entries.phrasings_sealed`, a JSON list sealed with the tenant's data key like the question;
null for an entry without any; the same on `knowledge_quarantine`, for an entry awaiting review.
An entry's vector column now holds one vector per text it is matched by (its question, then each
phrasing), so an old single vector reads as before.

Both tables are already behind row-level security on PostgreSQL; new columns are under their
policies.

Revision ID: 0035
Revises: 0034
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("faq_entries", "knowledge_quarantine"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("phrasings_sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    for table in ("knowledge_quarantine", "faq_entries"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("phrasings_sealed")
