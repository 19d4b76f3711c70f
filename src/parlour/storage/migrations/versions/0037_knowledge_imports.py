"""knowledge imports run as background jobs (issue 23, item 4): a job per upload, with its state
(queued, running, done, failed), its progress, its outcome, and who asked for it; and the file
it imports, sealed with the organisation's data key, until the job ends

`knowledge_imports` is read across organisations by every node's importer, as the mail outbox
is, to claim the next job, and carries only ids, names, hashes, counts and states. The file
waits in `knowledge_import_files`, under row-level security as the knowledge it becomes is
(0018), and is deleted when its job ends. One job of an organisation runs at a time: a partial
unique index holds it.

Revision ID: 0037
Revises: 0036
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_SCOPE = "tenant_id = ANY (string_to_array(current_setting('app.tenant_id', true), ','))"
ID = sa.String(64)
WHEN = sa.DateTime(timezone=True)


def _tenant() -> sa.Column[str]:
    return sa.Column(
        "tenant_id", ID, sa.ForeignKey("tenants.tenant_id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "knowledge_imports",
        sa.Column("job_id", ID, nullable=False),
        _tenant(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("publish", sa.Boolean(), nullable=False),
        sa.Column("submit_token", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("actor_type", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(200), nullable=False),
        sa.Column("source_ip", sa.String(64), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("started_at", WHEN, nullable=True),
        sa.Column("finished_at", WHEN, nullable=True),
        sa.Column("lease_until", WHEN, nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("imported", sa.Integer(), nullable=True),
        sa.Column("quarantined", sa.Integer(), nullable=True),
        sa.Column("row_errors", sa.JSON(), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("job_id"),
        sa.UniqueConstraint("tenant_id", "submit_token"),
    )
    op.create_index(
        "ix_knowledge_imports_tenant_created", "knowledge_imports", ["tenant_id", "created_at"]
    )
    op.create_index("ix_knowledge_imports_state", "knowledge_imports", ["state", "created_at"])
    op.create_index(
        "uq_knowledge_imports_running",
        "knowledge_imports",
        ["tenant_id"],
        unique=True,
        postgresql_where=sa.text("state = 'running'"),
        sqlite_where=sa.text("state = 'running'"),
    )
    op.create_table(
        "knowledge_import_files",
        _tenant(),
        sa.Column(
            "job_id",
            ID,
            sa.ForeignKey("knowledge_imports.job_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("file_sealed", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("job_id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE knowledge_import_files ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE knowledge_import_files FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant_scope ON knowledge_import_files USING ({IN_SCOPE})")


def downgrade() -> None:
    op.drop_table("knowledge_import_files")
    op.drop_table("knowledge_imports")
