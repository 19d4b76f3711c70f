"""why a turn ended as it did: the reason beside its outcome (the model timed out, the output
filter stopped a request for a customer's secret, …), counted for administrators

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("assistant_turns") as batch:
        batch.add_column(sa.Column("reason", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("assistant_turns") as batch:
        batch.drop_column("reason")
