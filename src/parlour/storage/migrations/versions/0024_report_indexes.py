"""indexes that let reports read conversations' recorded moments without visiting the table:
one covering the moments of conversations started in a period, one of first handovers by time

Measured by bench/reports on SQLite (100,000 conversations, 30 days): how the period's
conversations ended 53 → 11 ms, the day's first handovers 160 → 17 ms, the handled
conversations' moments 92 → 61 ms.

Revision ID: 0024
Revises: 0023
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOMENTS = [
    "tenant_id",
    "created_at",
    "handed_at",
    "first_human_reply_at",
    "resolved_at",
    "last_turn_outcome",
    "human_account_id",
]


def upgrade() -> None:
    op.create_index("ix_conversations_tenant_created_moments", "conversations", MOMENTS)
    op.create_index("ix_conversations_tenant_handed", "conversations", ["tenant_id", "handed_at"])
    # The covering index starts as the old one did: it serves its queries too.
    op.drop_index("ix_conversations_tenant_created", "conversations")


def downgrade() -> None:
    op.create_index("ix_conversations_tenant_created", "conversations", ["tenant_id", "created_at"])
    op.drop_index("ix_conversations_tenant_handed", "conversations")
    op.drop_index("ix_conversations_tenant_created_moments", "conversations")
