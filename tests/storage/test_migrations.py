"""The migrations: they build what the tables describe, and keep what was stored."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text

from parlour.chat.models import ConversationStatus
from parlour.services import Services
from parlour.storage.database import Database
from parlour.storage.migrate import alembic_config, migrate
from parlour.storage.tables import metadata
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
    tmp_path: Path, sqlite_url: str
) -> None:
    """Revision 0024 renames the status `agent` and assigns it to whoever first replied."""
    async with migrated_services(tmp_path, sqlite_url) as services:
        org = await seed.organisation(services)
        conversation = await services.chat.open_conversation(org.tenant_id, "customer-1")
        async with services.db.transaction() as conn:
            await conn.run_sync(_downgrade, "0023")
            await conn.execute(
                text("UPDATE conversations SET status = 'agent', human_account_id = 'ada'")
            )
        await services.migrate()
        after = await services.chat.get_conversation(org.tenant_id, conversation.conversation_id)
        assert (after.status, after.assignee) == (ConversationStatus.ASSIGNED, "ada")


async def _still_answers(services: Services, tenant_id: str) -> None:
    [version] = await services.knowledge.versions(tenant_id)
    assert version.published
    assert [s.name for s in version.sources] == ["faq.csv"]
    assert len(await services.knowledge.faq_entries(tenant_id)) == 3
    [hit] = await services.knowledge.search(tenant_id, "opening hours", limit=1)
    assert hit.entry.question == "What are your opening hours?"
