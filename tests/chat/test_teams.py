"""An organisation's teams: made, renamed and deleted, with members of the organisation only
(T-98); a conversation's team, whose queue the desk lists; each change audited with the person
who made it. On both backends (the tables sit behind row-level security on PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from parlour.chat.models import ConversationStatus
from parlour.errors import Conflict, InvalidInput, NotFound
from parlour.identity.models import Membership, Role
from parlour.services import Services
from parlour.storage.tables import desk_members, desk_settings, team_members, teams
from tests.chat.test_desk import actions
from tests.chat.test_lifecycle import member, new_conversation
from tests.conftest import migrated_services
from tests.support.seed import ACTOR

S = ConversationStatus


async def test_a_team_is_made_renamed_and_deleted_and_each_step_is_audited_with_who_took_it(
    backend: Services,
) -> None:
    tenant = await backend.tenants.create("Team Bank", actor=ACTOR)
    ada = await member(backend, tenant.tenant_id, Role.ADMIN)

    billing = await backend.teams.create(tenant.tenant_id, "  Billing ", actor=ada)
    assert billing.name == "Billing"
    with pytest.raises(Conflict):
        await backend.teams.create(tenant.tenant_id, "Billing", actor=ada)
    await backend.teams.create(tenant.tenant_id, "Accounts", actor=ada)
    with pytest.raises(Conflict):
        await backend.teams.rename(tenant.tenant_id, billing.team_id, "Accounts", actor=ada)
    renamed = await backend.teams.rename(tenant.tenant_id, billing.team_id, "Payments", actor=ada)
    assert renamed.name == "Payments"
    for bad in ("", " ", "x" * 101, "Pay\u202ements"):
        with pytest.raises(InvalidInput):
            await backend.teams.create(tenant.tenant_id, bad, actor=ada)

    assert [t.name for t in await backend.teams.teams(tenant.tenant_id)] == [
        "Accounts",
        "Payments",
    ]
    await backend.teams.delete(tenant.tenant_id, billing.team_id, actor=ada)
    with pytest.raises(NotFound):
        await backend.teams.get(tenant.tenant_id, billing.team_id)
    assert await actions(backend, tenant.tenant_id, 4) == [
        ("team.created", ada.id),
        ("team.created", ada.id),
        ("team.renamed", ada.id),
        ("team.deleted", ada.id),
    ]


async def test_t98_a_team_takes_members_of_its_organisation_who_handle_conversations_only(
    backend: Services,
) -> None:
    """T-98: another organisation's member, or an account of none, is no such member here; an
    analyst does not handle conversations; another organisation's team is no such team."""
    tenant = await backend.tenants.create("Team Bank", actor=ACTOR)
    other = await backend.tenants.create("Other Bank", actor=ACTOR)
    ada = await member(backend, tenant.tenant_id, Role.ADMIN)
    bo = await member(backend, tenant.tenant_id)
    theirs = await member(backend, other.tenant_id)
    analyst = await member(backend, tenant.tenant_id, Role.ANALYST)
    team = await backend.teams.create(tenant.tenant_id, "Billing", actor=ada)
    their_team = await backend.teams.create(other.tenant_id, "Billing", actor=theirs)

    for account_id in (theirs.id, "no-such-account"):
        with pytest.raises(NotFound):
            await backend.teams.add_member(tenant.tenant_id, team.team_id, account_id, actor=ada)
    with pytest.raises(InvalidInput):
        await backend.teams.add_member(tenant.tenant_id, team.team_id, analyst.id, actor=ada)
    with pytest.raises(NotFound):
        await backend.teams.add_member(tenant.tenant_id, their_team.team_id, bo.id, actor=ada)
    with pytest.raises(NotFound):
        await backend.teams.get(tenant.tenant_id, their_team.team_id)
    with pytest.raises(NotFound):
        await backend.teams.delete(tenant.tenant_id, their_team.team_id, actor=ada)
    with pytest.raises(NotFound):
        await backend.teams.rename(tenant.tenant_id, their_team.team_id, "Mine", actor=ada)

    added = await backend.teams.add_member(tenant.tenant_id, team.team_id, bo.id, actor=ada)
    assert added.members == (bo.id,)
    again = await backend.teams.add_member(tenant.tenant_id, team.team_id, bo.id, actor=ada)
    assert again.members == (bo.id,)
    assert (await backend.teams.get(other.tenant_id, their_team.team_id)).members == ()
    assert await actions(backend, tenant.tenant_id, 1) == [("team.member_added", ada.id)]


async def test_a_member_leaves_their_teams_when_removed_from_a_team_or_the_organisation(
    backend: Services,
) -> None:
    tenant = await backend.tenants.create("Team Bank", actor=ACTOR)
    ada = await member(backend, tenant.tenant_id, Role.ADMIN)
    bo, cy = await member(backend, tenant.tenant_id), await member(backend, tenant.tenant_id)
    team = await backend.teams.create(tenant.tenant_id, "Billing", actor=ada)
    for who in (bo, cy):
        await backend.teams.add_member(tenant.tenant_id, team.team_id, who.id, actor=ada)

    left = await backend.teams.remove_member(tenant.tenant_id, team.team_id, bo.id, actor=ada)
    assert left.members == (cy.id,)
    await backend.members.remove(
        tenant.tenant_id, cy.id, by=Membership(ada.id, tenant.tenant_id, Role.ADMIN), actor=ada
    )
    assert (await backend.teams.get(tenant.tenant_id, team.team_id)).members == ()
    assert await actions(backend, tenant.tenant_id, 2) == [
        ("team.member_removed", ada.id),
        ("account.member_removed", ada.id),
    ]


async def test_a_conversation_waits_in_its_teams_queue_and_the_desk_lists_it_by_team(
    backend: Services,
) -> None:
    tenant = await backend.tenants.create("Team Bank", actor=ACTOR)
    other = await backend.tenants.create("Other Bank", actor=ACTOR)
    ada = await member(backend, tenant.tenant_id)
    billing = await backend.teams.create(tenant.tenant_id, "Billing", actor=ada)
    sales = await backend.teams.create(tenant.tenant_id, "Sales", actor=ada)
    their_team = await backend.teams.create(other.tenant_id, "Billing", actor=ada)
    first, second = [await new_conversation(backend, tenant.tenant_id) for _ in range(2)]
    for conversation_id in (first, second):
        await backend.chat.request_handoff(tenant.tenant_id, conversation_id)

    await backend.teams.place(tenant.tenant_id, first, billing.team_id, actor=ada)
    await backend.teams.place(tenant.tenant_id, first, billing.team_id, actor=ada)  # no change
    await backend.teams.place(tenant.tenant_id, second, sales.team_id, actor=ada)
    with pytest.raises(NotFound):
        await backend.teams.place(tenant.tenant_id, first, their_team.team_id, actor=ada)
    with pytest.raises(NotFound):
        await backend.teams.place(tenant.tenant_id, "no-such", billing.team_id, actor=ada)

    def ids(listed: list[object]) -> list[str]:
        return [c.conversation_id for c in listed]  # type: ignore[attr-defined]

    queued = backend.desk.conversations
    assert ids(await queued(tenant.tenant_id, S.QUEUED, limit=9, team_id=billing.team_id)) == [
        first
    ]
    assert ids(await queued(tenant.tenant_id, S.QUEUED, limit=9)) == [first, second]
    # The team is kept with the conversation through its moves.
    taken = await backend.desk.take(tenant.tenant_id, first, actor=ada)
    assert (taken.status, taken.team_id) == (S.ASSIGNED, billing.team_id)

    await backend.teams.delete(tenant.tenant_id, sales.team_id, actor=ada)
    assert (await backend.chat.get_conversation(tenant.tenant_id, second)).team_id is None
    await backend.teams.place(tenant.tenant_id, first, None, actor=ada)
    assert (await backend.chat.get_conversation(tenant.tenant_id, first)).team_id is None
    recent = await backend.audit.recent(tenant.tenant_id, limit=20)
    placed = [e["data"] for e in reversed(recent) if e["action"] == "conversation.team_set"]
    assert placed == [
        {"conversation_id": first, "team_id": billing.team_id},
        {"conversation_id": second, "team_id": sales.team_id},
        {"conversation_id": first, "team_id": None},
    ]


@pytest.mark.postgres
async def test_t98_on_postgresql_the_desks_tables_are_behind_row_level_security(
    tmp_path: Path, postgres_url: str
) -> None:
    """T-98: a transaction scoped to one organisation sees none of another's teams, team
    members, desk members or desk settings, even reading without the tenant filter."""
    async with migrated_services(tmp_path, postgres_url) as pg:
        tenants = []
        for name in ("A", "B"):
            tenant = await pg.tenants.create(f"Team Bank {name}", actor=ACTOR)
            admin = await member(pg, tenant.tenant_id, Role.ADMIN)
            team = await pg.teams.create(tenant.tenant_id, "Billing", actor=admin)
            await pg.teams.add_member(tenant.tenant_id, team.team_id, admin.id, actor=admin)
            await pg.presence.choose(tenant.tenant_id, admin.id, "away")
            await pg.auto_assignment.configure(
                tenant.tenant_id, enabled=True, default_capacity=2, actor=admin
            )
            tenants.append(tenant.tenant_id)
        a, b = tenants
        for table in (teams, team_members, desk_members, desk_settings):
            async with pg.db.read(a) as conn:
                seen = set(await conn.scalars(select(table.c.tenant_id)))
            async with pg.db.read() as conn:
                unscoped = set(await conn.scalars(select(table.c.tenant_id)))
            assert (table.name, seen, unscoped) == (table.name, {a}, set())
        async with pg.db.read(a, b) as conn:
            assert set(await conn.scalars(select(teams.c.tenant_id))) == {a, b}
