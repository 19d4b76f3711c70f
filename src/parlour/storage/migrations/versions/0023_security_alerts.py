"""security alerts sent to organisations (issue 21, T-106): a row per alert, whose unique
constraints are the alerts' rate limits across every node (one per figure and organisation and
local day; a few per organisation and hour, one per slot); and webhook deliveries of an
organisation's own events, which carry their signed body instead of naming a message

Row-level security on PostgreSQL covers the alerts as it covers the report counts (0021). On
SQLite the deliveries' message columns become nullable by copying that table (nothing refers to
it), its due index rebuilt with it.

Revision ID: 0023
Revises: 0022
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_SCOPE = "tenant_id = ANY (string_to_array(current_setting('app.tenant_id', true), ','))"
ID = sa.String(64)
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "security_alerts",
        sa.Column("alert_id", ID, nullable=False),
        sa.Column(
            "tenant_id",
            ID,
            sa.ForeignKey("tenants.tenant_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("figure", sa.String(40), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("hour", WHEN, nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("alert_id"),
        sa.UniqueConstraint("tenant_id", "figure", "day", name="uq_security_alerts_daily"),
        sa.UniqueConstraint("tenant_id", "hour", "slot", name="uq_security_alerts_hourly"),
    )
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.alter_column("conversation_id", existing_type=ID, nullable=True)
        batch.alter_column("message_id", existing_type=ID, nullable=True)
        batch.add_column(sa.Column("payload", sa.Text(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE security_alerts ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE security_alerts FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_scope ON security_alerts USING ({IN_SCOPE})")


def downgrade() -> None:
    # An organisation's own events name no message: they cannot stay in the narrower table.
    op.execute("DELETE FROM webhook_deliveries WHERE message_id IS NULL")
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_column("payload")
        batch.alter_column("message_id", existing_type=ID, nullable=False)
        batch.alter_column("conversation_id", existing_type=ID, nullable=False)
    op.drop_table("security_alerts")
