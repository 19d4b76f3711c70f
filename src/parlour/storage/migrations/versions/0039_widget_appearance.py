"""how an organisation's widget looks (issue 24, item 3): `widget_appearance`, one row per
organisation that set it (title, greeting, brand colour, launcher side, business-hours message,
features, language, and the logo Parlour remade as a small PNG, with its digest). No row: the
defaults. Behind row-level security on PostgreSQL like the business hours (0030).

Revision ID: 0039
Revises: 0038
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_SCOPE = "tenant_id = ANY (string_to_array(current_setting('app.tenant_id', true), ','))"


def upgrade() -> None:
    op.create_table(
        "widget_appearance",
        sa.Column(
            "tenant_id",
            sa.String(64),
            sa.ForeignKey("tenants.tenant_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("title", sa.String(60), nullable=False),
        sa.Column("greeting", sa.String(300), nullable=True),
        sa.Column("brand_colour", sa.String(7), nullable=False),
        sa.Column("launcher_position", sa.String(5), nullable=False),
        sa.Column("hours_message", sa.String(200), nullable=True),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(4), nullable=False),
        sa.Column("logo_digest", sa.String(64), nullable=True),
        sa.Column("logo_png", sa.LargeBinary(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE widget_appearance ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE widget_appearance FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_scope ON widget_appearance USING ({IN_SCOPE})")


def downgrade() -> None:
    op.drop_table("widget_appearance")
