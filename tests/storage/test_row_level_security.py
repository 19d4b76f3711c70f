"""T-31: on PostgreSQL, row-level security is a second wall behind the tenant filter. A query
that forgets the filter still sees only the rows of the tenants its transaction named."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from parlour.services import Services, build_services
from parlour.settings import Environment
from parlour.storage.tables import conversations, messages
from parlour.storage.types import utcnow
from tests.conftest import make_settings, migrated_services
from tests.support import seed
from tests.support.databases import postgres_admin_url

pytestmark = pytest.mark.postgres

# What organisations and their customers wrote, and what the assistant and the organisation's
# integrations keep of it (migration 0018).
SECURED = (
    "conversations",
    "messages",
    "faq_entries",
    "knowledge_sources",
    "knowledge_state",
    "knowledge_versions",
    "knowledge_version_sources",
    "knowledge_quarantine",
    "assistant_settings",
    "prompt_templates",
    "assistant_turns",
    "webhook_endpoints",
    "mcp_servers",
    "mcp_client_certificates",
    "tenant_origins",
    "tenant_apps",
    "origin_claims",
    "unanswered_questions",
    "conversation_notes",
    "canned_replies",
    # The blind search index and end users' verified claims (0028).
    "search_terms",
    "search_documents",
    "search_watermarks",
    "end_user_profiles",
    # The desk's people (0026), its customer side (0030), members' read marks (0032).
    "teams",
    "team_members",
    "desk_members",
    "desk_settings",
    "business_hours",
    "conversation_contacts",
    "conversation_ratings",
    "desk_reads",
    "desk_preferences",
    # A knowledge import's file while its job waits or runs (0037).
    "knowledge_import_files",
    # Phrasings customers taught FAQ entries by their picks (0036).
    "learned_phrasings",
    # How an organisation's widget looks, its logo included (0039).
    "widget_appearance",
    # Files attached to messages, sealed (0040).
    "attachments",
)


@pytest.fixture
async def pg(tmp_path: Path, postgres_url: str) -> AsyncIterator[Services]:
    async with migrated_services(tmp_path, postgres_url) as built:
        yield built


async def _organisation_with_a_message(services: Services, name: str) -> tuple[str, str]:
    """An organisation with knowledge, a prompt template, an MCP client certificate, a
    conversation, a question in it kept as unanswered, a private note on it and a canned
    reply."""
    org = await seed.organisation(services, name=name)
    await services.assistant.configuration.save_template(
        org.tenant_id, "{{guard}}\nAnswer from {{knowledge}} only.", actor=seed.ACTOR
    )
    await services.mcp_servers.client_certificate_pem(org.tenant_id)
    conversation = await services.chat.open_conversation(org.tenant_id, "ada")
    appended = await services.chat.post_user_message(
        org.tenant_id, conversation.conversation_id, client_id="c1", text=f"{name}'s note"
    )
    await services.knowledge.gaps.record(
        org.tenant_id,
        appended.message.message_id,
        conversation.conversation_id,
        appended.message.body,
    )
    await services.notes.add(
        org.tenant_id, conversation.conversation_id, f"{name}'s private note", actor=seed.ACTOR
    )
    await services.canned_replies.create(org.tenant_id, "hours", "9 to 5.", actor=seed.ACTOR)
    await services.search_indexer.index_tenant(org.tenant_id, 0)
    return org.tenant_id, conversation.conversation_id


async def _tenants_seen(services: Services, *scope: str) -> set[str]:
    """The tenants of every row, in any secured table, that a query with no tenant filter
    finds."""
    everything = " UNION ".join(f"SELECT tenant_id FROM {table}" for table in SECURED)  # noqa: S608
    async with services.db.read(*scope) as conn:
        return {row[0] for row in await conn.execute(text(everything))}


async def _rows_per_table(services: Services, *scope: str) -> dict[str, int]:
    async with services.db.read(*scope) as conn:
        return {
            table: await conn.scalar(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
            for table in SECURED
        }


async def test_the_app_role_without_a_tenant_in_scope_reads_no_conversation_or_message(
    pg: Services,
) -> None:
    """T-31: rows exist, yet a raw query through the application's role, with no
    `app.tenant_id` set, returns none of them."""
    tenant_id, _ = await _organisation_with_a_message(pg, "A")
    assert await _tenants_seen(pg, tenant_id) == {tenant_id}
    stored = await _rows_per_table(pg, tenant_id)
    written = (
        "conversations",
        "messages",
        "faq_entries",
        "knowledge_versions",
        "prompt_templates",
        "tenant_origins",
        "conversation_notes",
        "canned_replies",
        "search_terms",
        "search_documents",
        "search_watermarks",
    )
    assert all(stored[table] > 0 for table in (*written, "mcp_client_certificates")), stored
    assert set((await _rows_per_table(pg)).values()) == {0}
    async with pg.db.engine.connect() as conn:  # not even past the Database's helpers
        assert await conn.scalar(select(func.count()).select_from(messages)) == 0
        assert await conn.scalar(select(func.count()).select_from(conversations)) == 0


async def test_the_role_that_owns_the_tables_is_held_to_the_policy(pg: Services) -> None:
    """T-31: FORCE ROW LEVEL SECURITY, and a role that neither is a superuser nor bypasses row
    security, so the owner the migrations ran as is no way around the wall."""
    assert not await pg.db.role_bypasses_row_security()
    async with pg.db.read() as conn:
        rows = await conn.execute(
            text(
                "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
                "pg_get_userbyid(c.relowner) = current_user "
                "FROM pg_class c WHERE c.relname = ANY(:tables) AND c.relkind = 'r'"
            ),
            {"tables": list(SECURED)},
        )
        assert sorted(tuple(row) for row in rows) == sorted(
            (table, True, True, True) for table in SECURED
        )


async def test_a_transaction_for_one_tenant_neither_sees_nor_writes_anothers_rows(
    pg: Services,
) -> None:
    """T-31: with A in scope, B's rows are invisible to an unfiltered read, an update of B's
    conversation touches nothing, and a row written under B's name is refused."""
    a, _ = await _organisation_with_a_message(pg, "A")
    b, b_conversation = await _organisation_with_a_message(pg, "B")
    assert await _tenants_seen(pg, a) == {a}
    assert await _tenants_seen(pg, a, b) == {a, b}

    async with pg.db.transaction(a) as conn:
        changed = await conn.execute(
            update(conversations)
            .where(conversations.c.conversation_id == b_conversation)
            .values(status="closed")
        )
        assert changed.rowcount == 0
    assert (await pg.chat.get_conversation(b, b_conversation)).status.value != "closed"

    with pytest.raises(DBAPIError, match="row-level security"):
        async with pg.db.transaction(a) as conn:
            await conn.execute(
                insert(messages).values(
                    tenant_id=b,
                    conversation_id=b_conversation,
                    seq=99,
                    message_id=str(uuid.uuid4()),
                    kind="text",
                    author="agent",
                    body_sealed=b"x",
                    citations_sealed=b"x",
                    actions=[],
                    created_at=utcnow(),
                )
            )


async def test_a_tenant_in_scope_is_forgotten_when_its_transaction_ends(pg: Services) -> None:
    """T-31: the scope is transaction-local, so a pooled connection never carries one tenant's
    scope into its next use."""
    tenant_id, _ = await _organisation_with_a_message(pg, "A")
    async with pg.db.read(tenant_id) as conn:
        assert await conn.scalar(select(func.count()).select_from(messages)) == 1
        await conn.commit()
        assert await conn.scalar(select(func.count()).select_from(messages)) == 0


async def test_deleting_an_organisation_still_removes_its_conversations_and_messages(
    pg: Services,
) -> None:
    """The policy does not stand in the way of the database's own cascade (T-37)."""
    tenant_id, _ = await _organisation_with_a_message(pg, "A")
    await pg.tenants.delete(tenant_id, actor=seed.ACTOR)
    assert await _tenants_seen(pg, tenant_id) == set()


async def test_the_chat_works_through_the_wall(pg: Services) -> None:
    """Every path of the chat names its tenant: a message is stored, numbered and read back
    through the policy, by group commit as well as alone."""
    tenant_id, conversation_id = await _organisation_with_a_message(pg, "A")
    posted = await pg.chat.post_user_message(
        tenant_id, conversation_id, client_id="c2", text="and another"
    )
    retried = await pg.chat.post_user_message(
        tenant_id, conversation_id, client_id="c2", text="and another"
    )
    assert (posted.message.seq, posted.created) == (2, True)
    assert (retried.message.message_id, retried.created) == (posted.message.message_id, False)
    history = await pg.chat.history(tenant_id, conversation_id, after_seq=0, limit=10)
    assert [m.body for m in history] == ["A's note", "and another"]
    assert history[0].created_at <= utcnow()


@pytest.mark.parametrize("environment", [Environment.PRODUCTION, Environment.TEST])
async def test_production_refuses_a_database_role_that_row_level_security_does_not_bind(
    tmp_path: Path, postgres_url: str, environment: Environment
) -> None:
    """T-31: a superuser (or a BYPASSRLS role) passes through every policy, so a production
    node will not start on one; elsewhere it starts and says why it should not."""
    as_superuser = make_url(postgres_admin_url()).set(database=make_url(postgres_url).database)
    services = build_services(
        make_settings(
            tmp_path,
            database_url=as_superuser.render_as_string(hide_password=False),
            environment=environment,
            public_url="https://parlour.example",
        )
    )
    try:
        assert await services.db.role_bypasses_row_security()
        if environment is Environment.PRODUCTION:
            with pytest.raises(RuntimeError, match="BYPASSRLS"):
                await services.start()
        else:
            await services.start()
    finally:
        await services.aclose()
