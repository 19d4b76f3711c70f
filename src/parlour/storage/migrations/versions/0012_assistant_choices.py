"""an organisation's own assistant choices: function calling, consent to external providers,
personalisation

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, as in 0009: a SQLite batch copy would drop and recreate the table.


def upgrade() -> None:
    op.add_column(
        "assistant_settings",
        sa.Column("tools_enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "assistant_settings",
        sa.Column("external_consent", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.add_column(
        "assistant_settings",
        sa.Column("personalisation", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("assistant_settings", "personalisation")
    op.drop_column("assistant_settings", "external_consent")
    op.drop_column("assistant_settings", "tools_enabled")
