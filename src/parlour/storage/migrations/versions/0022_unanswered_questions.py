"""the questions the assistant could not answer, sealed, for the knowledge gaps report
(issue 21): the question and its embedding bound to their row like knowledge, at most a few
thousand per organisation and for a retention (knowledge/gaps.py), gone with the organisation.

Row-level security on PostgreSQL covers them as it covers conversations (0018, T-103).

Revision ID: 0022
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_SCOPE = "tenant_id = ANY (string_to_array(current_setting('app.tenant_id', true), ','))"


def upgrade() -> None:
    op.create_table(
        "unanswered_questions",
        sa.Column(
            "tenant_id",
            sa.String(64),
            sa.ForeignKey("tenants.tenant_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("question_id", sa.String(64), primary_key=True),
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("question_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("vector_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("embedding_model", sa.String(64), nullable=True),
    )
    op.create_index(
        "ix_unanswered_questions_tenant_asked", "unanswered_questions", ["tenant_id", "asked_at"]
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE unanswered_questions ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE unanswered_questions FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_scope ON unanswered_questions USING ({IN_SCOPE})")


def downgrade() -> None:
    op.drop_index("ix_unanswered_questions_tenant_asked", "unanswered_questions")
    op.drop_table("unanswered_questions")
