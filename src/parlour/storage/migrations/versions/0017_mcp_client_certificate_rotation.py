"""rotating organisations' MCP client certificates: the next one, published ahead of the switch

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mcp_client_certificates") as batch:
        batch.add_column(sa.Column("next_certificate_pem", sa.Text(), nullable=True))
        batch.add_column(sa.Column("next_private_key_sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mcp_client_certificates") as batch:
        batch.drop_column("next_private_key_sealed")
        batch.drop_column("next_certificate_pem")
