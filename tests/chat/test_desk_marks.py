"""What the live desk keeps per member: read marks (forward only) and desk preferences, each in
its own organisation's rows (T-98: behind row-level security on PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from parlour.chat.desk_marks import DeskPreferences
from parlour.identity.membership_repository import MembershipRepository
from parlour.services import Services
from tests.conftest import migrated_services
from tests.support import seed
from tests.support.desk import desk_member


async def test_a_read_mark_only_moves_forward_and_is_the_members_own(backend: Services) -> None:
    org = await seed.organisation(backend, faq=None)
    ada = await desk_member(backend, org.tenant_id)
    bo = await desk_member(backend, org.tenant_id)
    conversation_id = await seed.with_a_person(backend, org)
    marks = backend.desk_marks
    await marks.mark_read(org.tenant_id, ada.account_id, conversation_id, 3)
    await marks.mark_read(org.tenant_id, ada.account_id, conversation_id, 2)  # an old page
    assert await marks.reads(org.tenant_id, ada.account_id, [conversation_id, "other"]) == {
        conversation_id: 3
    }
    assert await marks.reads(org.tenant_id, bo.account_id, [conversation_id]) == {}
    await marks.mark_read(org.tenant_id, ada.account_id, conversation_id, 5)
    assert await marks.reads(org.tenant_id, ada.account_id, [conversation_id]) == {
        conversation_id: 5
    }


async def test_a_removed_members_read_marks_and_preferences_go_with_their_membership(
    backend: Services,
) -> None:
    org = await seed.organisation(backend, faq=None)
    ada = await desk_member(backend, org.tenant_id)
    conversation_id = await seed.with_a_person(backend, org)
    marks = backend.desk_marks
    await marks.mark_read(org.tenant_id, ada.account_id, conversation_id, 1)
    await marks.set_preferences(org.tenant_id, ada.account_id, DeskPreferences(True, True))
    async with backend.db.transaction(org.tenant_id) as conn:
        await MembershipRepository(conn).remove(ada.account_id, org.tenant_id)
    assert await marks.reads(org.tenant_id, ada.account_id, [conversation_id]) == {}
    assert await marks.preferences(org.tenant_id, ada.account_id) == DeskPreferences()


async def test_desk_preferences_are_off_until_chosen_and_kept_per_organisation(
    backend: Services,
) -> None:
    org = await seed.organisation(backend, faq=None)
    other = await seed.organisation(backend, name="Other", faq=None)
    ada = await desk_member(backend, org.tenant_id)
    marks = backend.desk_marks
    assert await marks.preferences(org.tenant_id, ada.account_id) == DeskPreferences()
    await marks.set_preferences(org.tenant_id, ada.account_id, DeskPreferences(True, True))
    await marks.set_preferences(org.tenant_id, ada.account_id, DeskPreferences(True, False))
    assert await marks.preferences(org.tenant_id, ada.account_id) == DeskPreferences(True, False)
    assert await marks.preferences(other.tenant_id, ada.account_id) == DeskPreferences()


@pytest.mark.postgres
async def test_t98_the_desks_rows_are_behind_row_level_security(
    tmp_path: Path, postgres_url: str
) -> None:
    """T-98: with one organisation in scope, an unfiltered read of the desk's tables finds only its
    rows; with none, nothing."""
    async with migrated_services(tmp_path, postgres_url) as pg:
        tenants = []
        for name in ("A", "B"):
            org = await seed.organisation(pg, name=name, faq=None)
            member = await desk_member(pg, org.tenant_id)
            conversation_id = await seed.with_a_person(pg, org)
            await pg.desk_marks.mark_read(org.tenant_id, member.account_id, conversation_id, 1)
            await pg.desk_marks.set_preferences(
                org.tenant_id, member.account_id, DeskPreferences(True, True)
            )
            tenants.append(org.tenant_id)
        for table in ("desk_reads", "desk_preferences"):
            query = text(f"SELECT DISTINCT tenant_id FROM {table}")  # noqa: S608
            async with pg.db.read(tenants[0]) as conn:
                assert {row[0] for row in await conn.execute(query)} == {tenants[0]}
            async with pg.db.read() as conn:
                assert list(await conn.execute(query)) == []
