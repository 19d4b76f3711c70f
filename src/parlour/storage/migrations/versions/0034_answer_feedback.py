"""customers' thumbs up or down on the assistant's answers (issue 23, item 3): kept with the turn
that made the answer (`assistant_turns.thumbs`, `thumbs_at`; one per answer, the first
standing), and a knowledge gap's kind (`unanswered_questions.kind`): "abstained" (every question
kept so far) or "unhelpful" (answered, but its customer gave the answer a thumbs down)

Both tables are already behind row-level security on PostgreSQL (0018, 0021); new columns of a
table are under its policy.

Revision ID: 0034
Revises: 0033
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("assistant_turns") as batch:
        batch.add_column(sa.Column("thumbs", sa.String(8), nullable=True))
        batch.add_column(sa.Column("thumbs_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("unanswered_questions") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(16), nullable=False, server_default="abstained")
        )


def downgrade() -> None:
    with op.batch_alter_table("unanswered_questions") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("assistant_turns") as batch:
        batch.drop_column("thumbs_at")
        batch.drop_column("thumbs")
