"""the customer's side of the live desk (issue 22, item 5): a member's display name, the name an
agent's message was sent under, how far each side has read a conversation, and whether an
organisation lets its customers ask for a person

The name on a message is stored when it is sent (chat apps show the name a reply was written
under, not a later one). Read positions only move forward (`ChatService.mark_read`). Columns
are added and dropped in place (SQLite's ALTER TABLE).

Revision ID: 0029
Revises: 0028
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("display_name", sa.String(80), nullable=True))
    op.add_column("messages", sa.Column("author_name", sa.String(80), nullable=True))
    for column in ("customer_read_seq", "agent_read_seq"):
        op.add_column(
            "conversations",
            sa.Column(column, sa.Integer(), nullable=False, server_default=sa.text("0")),
        )
    op.add_column(
        "tenants",
        sa.Column("talk_to_a_person", sa.Boolean(), nullable=False, server_default=sa.true()),
    )


def downgrade() -> None:
    op.drop_column("tenants", "talk_to_a_person")
    op.drop_column("conversations", "agent_read_seq")
    op.drop_column("conversations", "customer_read_seq")
    op.drop_column("messages", "author_name")
    op.drop_column("accounts", "display_name")
