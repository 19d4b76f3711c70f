"""indexes that let reports read conversations' recorded moments without visiting the table:
one covering how the conversations started in a period ended, one the moments of the handovers
of a period

Measured on SQLite (100,000 conversations, 30 days): how the period's conversations ended
53 → 11 ms, the period's handovers 160 → 17 ms.

Revision ID: 0024
Revises: 0023
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENDINGS = ["tenant_id", "created_at", "handed_at", "first_human_reply_at", "last_turn_outcome"]
HANDOVERS = ["tenant_id", "handed_at", "first_human_reply_at", "resolved_at", "human_account_id"]


def upgrade() -> None:
    op.create_index("ix_conversations_tenant_created_endings", "conversations", ENDINGS)
    op.create_index("ix_conversations_tenant_handed_moments", "conversations", HANDOVERS)
    # The covering index starts as the old one did: it serves its queries too.
    op.drop_index("ix_conversations_tenant_created", "conversations")


def downgrade() -> None:
    op.create_index("ix_conversations_tenant_created", "conversations", ["tenant_id", "created_at"])
    op.drop_index("ix_conversations_tenant_handed_moments", "conversations")
    op.drop_index("ix_conversations_tenant_created_endings", "conversations")
