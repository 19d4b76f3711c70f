"""citations also counted per UTC day (`assistant.citations.daily`, rollups/models.py BY_DAY),
from the hourly counts kept so far: a report's most and least cited passages read a period's
whole UTC days from these, 24 times fewer rows (issue 21: the Reports page's queries)

Measured on the bench's 100,000 conversations: the 90 days' citations summed by passage on
PostgreSQL 155 ms (94,249 hourly rows) → a few ms.

On PostgreSQL the counts are behind row-level security (0021): the copy names every
organisation first, as 0018 says a migration that rewrites such rows must, and none after.

Revision ID: 0031
Revises: 0030
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HOURLY = "assistant.citations"
DAILY = "assistant.citations.daily"
ALL_TENANTS = (
    "SELECT set_config('app.tenant_id', "
    "coalesce((SELECT string_agg(tenant_id, ',') FROM tenants), ''), true)"
)
NO_TENANT = "SELECT set_config('app.tenant_id', '', true)"


def _scoped(statement: str) -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(ALL_TENANTS)
    op.execute(statement)
    if postgres:
        op.execute(NO_TENANT)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        day = "date_trunc('day', hour AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    else:  # stored as text, as SQLAlchemy writes a datetime: 2026-03-02 09:00:00.000000
        day = "strftime('%Y-%m-%d 00:00:00.000000', hour)"
    copy = (
        "INSERT INTO report_counts (tenant_id, metric, detail, hour, value)"  # noqa: S608
        f" SELECT tenant_id, '{DAILY}', detail, {day}, sum(value) FROM report_counts"
        f" WHERE metric = '{HOURLY}' GROUP BY tenant_id, detail, {day}"
    )
    _scoped(copy)  # constants only: nothing from outside


def downgrade() -> None:
    _scoped(f"DELETE FROM report_counts WHERE metric = '{DAILY}'")  # noqa: S608 (a constant)
