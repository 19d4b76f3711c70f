"""The migrations: they build what the tables describe, and keep what was stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, insert, text

from parlour.chat.models import ConversationStatus
from parlour.rollups.models import Figure
from parlour.rollups.repository import CountRepository
from parlour.services import Services
from parlour.storage.database import Database
from parlour.storage.migrate import alembic_config, migrate
from parlour.storage.tables import metadata, report_counts
from tests.conftest import migrated_services
from tests.support import seed


def _differences(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


async def test_the_migrations_build_the_schema_the_tables_describe(database_url: str) -> None:
    db = Database(database_url)
    try:
        await migrate(db)
        async with db.read() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await db.dispose()


def _downgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def test_entries_stored_before_versions_existed_stay_live(
    tmp_path: Path, sqlite_url: str
) -> None:
    """Revision 0006 adopts existing entries as source faq.csv in a published version 1."""
    async with migrated_services(tmp_path, sqlite_url) as services:
        org = await seed.organisation(services)
        async with services.db.transaction() as conn:
            await conn.run_sync(_downgrade, "0005")
        await services.migrate()
        await _still_answers(services, org.tenant_id)


async def test_a_conversation_with_an_agent_becomes_assigned_to_the_person_who_answered(
    tmp_path: Path, database_url: str
) -> None:
    """Revision 0025 renames the status `agent` and assigns it to whoever first replied, on
    PostgreSQL through row-level security too (it names every organisation, as 0031 does)."""
    async with migrated_services(tmp_path, database_url) as services:
        org = await seed.organisation(services)
        other = await seed.organisation(
            services, name="Other Bank", origin="https://other.example.com"
        )
        ours = await services.chat.open_conversation(org.tenant_id, "customer-1")
        theirs = await services.chat.open_conversation(other.tenant_id, "customer-2")
        async with services.db.transaction() as conn:
            await conn.run_sync(_downgrade, "0024")
        async with services.db.transaction(org.tenant_id, other.tenant_id) as conn:
            changed = await conn.execute(
                text("UPDATE conversations SET status = 'agent', human_account_id = 'ada'")
            )
            assert changed.rowcount == 2
        await services.migrate()
        for tenant_id, conversation in ((org.tenant_id, ours), (other.tenant_id, theirs)):
            after = await services.chat.get_conversation(tenant_id, conversation.conversation_id)
            assert (after.status, after.assignee) == (ConversationStatus.ASSIGNED, "ada")


async def test_conversations_a_scopeless_0025_left_with_an_agent_are_assigned_by_0033(
    tmp_path: Path, database_url: str
) -> None:
    """Before 0025 named every organisation, it changed no row behind PostgreSQL's row-level
    security and left conversations in the status `agent`; 0033 assigns them."""
    async with migrated_services(tmp_path, database_url) as services:
        org = await seed.organisation(services)
        conversation = await services.chat.open_conversation(org.tenant_id, "customer-1")
        async with services.db.transaction() as conn:
            await conn.run_sync(_downgrade, "0032")
        async with services.db.transaction(org.tenant_id) as conn:
            await conn.execute(
                text("UPDATE conversations SET status = 'agent', human_account_id = 'ada'")
            )
        await services.migrate()
        after = await services.chat.get_conversation(org.tenant_id, conversation.conversation_id)
        assert (after.status, after.assignee) == (ConversationStatus.ASSIGNED, "ada")


async def test_citations_counted_by_the_hour_before_0031_are_counted_by_the_day_too(
    tmp_path: Path, database_url: str
) -> None:
    """Revision 0031 sums the hourly citations kept so far into daily rows (on PostgreSQL
    through row-level security), so a period's total reads the same from either."""
    hour = datetime(2026, 3, 2, 9, tzinfo=UTC)
    async with migrated_services(tmp_path, database_url) as services:
        org = await seed.organisation(services)
        other = await seed.organisation(
            services, name="Other Bank", origin="https://other.example.com"
        )
        async with services.db.transaction() as conn:
            await conn.run_sync(_downgrade, "0025")
        rows = [
            (org.tenant_id, "e1", hour, 2),
            (org.tenant_id, "e1", hour + timedelta(hours=3), 5),
            (org.tenant_id, "e2", hour + timedelta(days=1), 7),
            (other.tenant_id, "e1", hour, 11),
        ]
        async with services.db.transaction(org.tenant_id, other.tenant_id) as conn:
            await conn.execute(
                insert(report_counts),
                [
                    {"tenant_id": t, "metric": "assistant.citations", "detail": d, "hour": h,
                     "value": v}
                    for t, d, h, v in rows
                ],
            )  # fmt: skip
        await services.migrate()
        since, until = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 5, tzinfo=UTC)
        async with services.db.read(org.tenant_id) as conn:
            repository = CountRepository(conn)
            summed = await repository.by_detail(org.tenant_id, Figure.CITATIONS, since, until)
            daily = await repository.hourly(org.tenant_id, [Figure.DAILY_CITATIONS], since, until)
    assert summed == {"e1": 7, "e2": 7}
    assert [(c.detail, c.hour, c.value) for c in daily] == [
        ("e1", datetime(2026, 3, 2, tzinfo=UTC), 7),
        ("e2", datetime(2026, 3, 3, tzinfo=UTC), 7),
    ]


async def _still_answers(services: Services, tenant_id: str) -> None:
    [version] = await services.knowledge.versions(tenant_id)
    assert version.published
    assert [s.name for s in version.sources] == ["faq.csv"]
    assert len(await services.knowledge.faq_entries(tenant_id)) == 3
    [hit] = await services.knowledge.search(tenant_id, "opening hours", limit=1)
    assert hit.entry.question == "What are your opening hours?"
