"""the desk's customer side when nobody is there (issue 22, T-101): an organisation's business
hours; the e-mail address a customer left in a conversation (sealed); the mails owed to
customers (an outbox: a reply while they were away, a transcript they asked for, its address
sealed); and the customers' ratings of a resolved conversation, one per resolution, with the
member who had it (the comment sealed)

Row-level security on PostgreSQL covers the hours, the addresses and the ratings as it covers
the conversations (0018). The mail outbox is read across organisations by every node's sender,
as the webhook deliveries are, and carries only ids and sealed addresses.

Revision ID: 0030
Revises: 0029
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_SCOPE = "tenant_id = ANY (string_to_array(current_setting('app.tenant_id', true), ','))"
ID = sa.String(64)
WHEN = sa.DateTime(timezone=True)
SCOPED = ("business_hours", "conversation_contacts", "conversation_ratings")


def _tenant() -> sa.Column[str]:
    return sa.Column(
        "tenant_id", ID, sa.ForeignKey("tenants.tenant_id", ondelete="CASCADE"), nullable=False
    )


def _conversation() -> sa.Column[str]:
    return sa.Column(
        "conversation_id",
        ID,
        sa.ForeignKey("conversations.conversation_id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "business_hours",
        _tenant(),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("closed_dates", sa.JSON(), nullable=False),
        sa.Column("reply_time", sa.String(100), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id"),
    )
    op.create_table(
        "conversation_contacts",
        _tenant(),
        _conversation(),
        sa.Column("address_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("given_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("conversation_id"),
    )
    op.create_table(
        "conversation_ratings",
        _tenant(),
        _conversation(),
        sa.Column("resolved_at", WHEN, nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("agent_id", ID, nullable=True),
        sa.Column("rated_at", WHEN, nullable=False),
        sa.Column("rating_id", ID, nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", "resolved_at"),
        sa.UniqueConstraint("rating_id"),
    )
    op.create_index(
        "ix_conversation_ratings_tenant_rated", "conversation_ratings", ["tenant_id", "rated_at"]
    )
    op.create_table(
        "customer_mails",
        sa.Column("mail_id", ID, nullable=False),
        _tenant(),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("address_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", WHEN, nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("mail_id"),
    )
    op.create_index("ix_customer_mails_due", "customer_mails", ["next_attempt_at"])
    op.create_index("ix_customer_mails_conversation", "customer_mails", ["conversation_id", "kind"])
    if op.get_bind().dialect.name == "postgresql":
        for table in SCOPED:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY tenant_scope ON {table} USING ({IN_SCOPE})")


def downgrade() -> None:
    op.drop_table("customer_mails")
    op.drop_table("conversation_ratings")
    op.drop_table("conversation_contacts")
    op.drop_table("business_hours")
