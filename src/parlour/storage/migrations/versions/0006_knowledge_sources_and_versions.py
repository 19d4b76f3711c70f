"""knowledge sources, versions and provenance

Revision ID: 0006
Revises: 0005

FAQ entries stored before this revision become one source, "faq.csv", in version 1 of their
tenant's knowledge, published: what was live stays live.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=64)


def upgrade() -> None:
    op.create_table(
        "knowledge_sources",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("source_id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("source_id"),
    )
    op.create_index("ix_knowledge_sources_tenant", "knowledge_sources", ["tenant_id"])
    op.create_table(
        "knowledge_versions",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "number"),
    )
    op.create_table(
        "knowledge_version_sources",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("source_id", ID, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "number", "source_id"),
    )
    for table in ("faq_entries", "knowledge_quarantine"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("source_id", ID, nullable=True))
            batch.add_column(
                sa.Column("locator", sa.String(length=200), nullable=False, server_default="")
            )
            batch.add_column(
                sa.Column("is_faq", sa.Boolean(), nullable=False, server_default=sa.true())
            )
    with op.batch_alter_table("faq_entries") as batch:
        batch.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
    op.create_index("ix_faq_entries_source", "faq_entries", ["source_id"])
    with op.batch_alter_table("knowledge_state") as batch:
        batch.add_column(sa.Column("published", sa.Integer(), nullable=True))
    _adopt_existing_entries()


def _adopt_existing_entries() -> None:
    """Entries from before sources existed: one source and a published version 1 per tenant.
    Their content hash stays empty (it was never recorded), which retrieval accepts only for
    entries that have none."""
    bind = op.get_bind()
    now = datetime.now(UTC)
    tenants = [
        row[0] for row in bind.execute(sa.text("SELECT DISTINCT tenant_id FROM faq_entries"))
    ]
    for tenant_id in tenants:
        source_id = str(uuid.uuid4())
        bind.execute(
            sa.text(
                "INSERT INTO knowledge_sources (tenant_id, source_id, name, kind, sha256, "
                "size_bytes, uploaded_by, created_at) VALUES (:t, :s, 'faq.csv', 'faq_csv', "
                "'', 0, 'migration', :now)"
            ),
            {"t": tenant_id, "s": source_id, "now": now},
        )
        bind.execute(
            sa.text(
                "INSERT INTO knowledge_versions (tenant_id, number, note, created_by, created_at)"
                " VALUES (:t, 1, 'entries stored before versions', 'migration', :now)"
            ),
            {"t": tenant_id, "now": now},
        )
        bind.execute(
            sa.text(
                "INSERT INTO knowledge_version_sources (tenant_id, number, source_id) "
                "VALUES (:t, 1, :s)"
            ),
            {"t": tenant_id, "s": source_id},
        )
        for statement in (
            "UPDATE faq_entries SET source_id = :s WHERE tenant_id = :t",
            "UPDATE knowledge_quarantine SET source_id = :s WHERE tenant_id = :t",
        ):
            bind.execute(sa.text(statement), {"t": tenant_id, "s": source_id})
        bind.execute(
            sa.text("UPDATE knowledge_state SET published = 1 WHERE tenant_id = :t"),
            {"t": tenant_id},
        )


def downgrade() -> None:
    with op.batch_alter_table("knowledge_state") as batch:
        batch.drop_column("published")
    op.drop_index("ix_faq_entries_source", table_name="faq_entries")
    with op.batch_alter_table("faq_entries") as batch:
        batch.drop_column("content_hash")
    for table in ("faq_entries", "knowledge_quarantine"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("is_faq")
            batch.drop_column("locator")
            batch.drop_column("source_id")
    op.drop_table("knowledge_version_sources")
    op.drop_table("knowledge_versions")
    op.drop_index("ix_knowledge_sources_tenant", table_name="knowledge_sources")
    op.drop_table("knowledge_sources")
