"""The desk's steps: assigning to oneself, to a member or to nobody, pending, snoozing, resolving
and reopening; each audited with the person who took it, each keeping the moments reports
read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from parlour.chat.models import ConversationStatus
from parlour.errors import Conflict, InvalidInput, NotFound
from parlour.identity.models import Role
from parlour.services import Services
from tests.chat.test_lifecycle import member, new_conversation
from tests.chat.test_milestones import moments
from tests.conftest import migrated_services
from tests.support.clock import SetClock
from tests.support.seed import ACTOR

S = ConversationStatus


@pytest.fixture
def clock() -> SetClock:
    return SetClock(datetime(2026, 5, 4, 10, 0, tzinfo=UTC))


@pytest.fixture
async def services(tmp_path: Path, sqlite_url: str, clock: SetClock) -> AsyncIterator[Services]:
    async with migrated_services(tmp_path, sqlite_url, clock=clock) as built:
        yield built


async def actions(services: Services, tenant_id: str, count: int) -> list[tuple[str, str]]:
    """The latest audited steps, oldest first, with who took each."""
    recent = await services.audit.recent(tenant_id, limit=count)
    steps = []
    for event in reversed(recent):
        actor = event["actor"]
        assert isinstance(actor, dict)
        steps.append((str(event["action"]), str(actor["id"])))
    return steps


async def test_a_member_is_assigned_unassigned_and_each_step_is_audited_with_who_took_it(
    services: Services,
) -> None:
    tenant = await services.tenants.create("Desk Bank", actor=ACTOR)
    ada, bo = await member(services, tenant.tenant_id), await member(services, tenant.tenant_id)
    conversation_id = await new_conversation(services, tenant.tenant_id)
    await services.chat.request_handoff(tenant.tenant_id, conversation_id)

    taken = await services.desk.take(tenant.tenant_id, conversation_id, actor=ada)
    assert (taken.status, taken.assignee) == (S.ASSIGNED, ada.id)
    # Again: nothing changes, nothing is refused.
    assert (await services.desk.take(tenant.tenant_id, conversation_id, actor=ada)) == taken
    with pytest.raises(Conflict):
        await services.desk.take(tenant.tenant_id, conversation_id, actor=bo)
    given = await services.desk.assign(tenant.tenant_id, conversation_id, bo.id, actor=ada)
    assert (given.status, given.assignee) == (S.ASSIGNED, bo.id)
    freed = await services.desk.unassign(tenant.tenant_id, conversation_id, actor=bo)
    assert (freed.status, freed.assignee) == (S.QUEUED, None)

    assert await actions(services, tenant.tenant_id, 3) == [
        ("conversation.taken", ada.id),
        ("conversation.assigned", ada.id),
        ("conversation.unassigned", bo.id),
    ]
    recent = await services.audit.recent(tenant.tenant_id, limit=2)
    assert recent[1]["data"] == {"conversation_id": conversation_id, "assignee": bo.id}
    history = await services.chat.history(tenant.tenant_id, conversation_id, after_seq=0, limit=9)
    assert [m.body for m in history] == ["queued", "agent_joined", "agent_joined", "queued"]


async def test_assigning_to_anyone_but_a_member_who_handles_conversations_is_refused(
    services: Services,
) -> None:
    """T-98: a member of another organisation, or an account of none, is no such member here;
    an analyst does not handle conversations. The conversation stays as it was."""
    tenant = await services.tenants.create("Desk Bank", actor=ACTOR)
    other = await services.tenants.create("Other Bank", actor=ACTOR)
    ada = await member(services, tenant.tenant_id)
    theirs = await member(services, other.tenant_id)
    analyst = await member(services, tenant.tenant_id, Role.ANALYST)
    conversation_id = await new_conversation(services, tenant.tenant_id)
    await services.chat.request_handoff(tenant.tenant_id, conversation_id)

    for account_id in (theirs.id, "no-such-account"):
        with pytest.raises(NotFound):
            await services.desk.assign(tenant.tenant_id, conversation_id, account_id, actor=ada)
    with pytest.raises(InvalidInput):
        await services.desk.assign(tenant.tenant_id, conversation_id, analyst.id, actor=ada)
    # Nor can a conversation of another organisation be assigned through this one.
    their_conversation = await new_conversation(services, other.tenant_id)
    with pytest.raises(NotFound):
        await services.desk.assign(tenant.tenant_id, their_conversation, ada.id, actor=ada)
    after = await services.chat.get_conversation(tenant.tenant_id, conversation_id)
    assert (after.status, after.assignee) == (S.QUEUED, None)


async def test_resolving_and_reopening_keep_the_moments_reports_read(
    services: Services, clock: SetClock
) -> None:
    """Resolved sets the resolution's time; reopened clears it until the next one; the first
    person to answer stays the one credited, whoever is assigned later."""
    tenant = await services.tenants.create("Desk Bank", actor=ACTOR)
    ada, bo = await member(services, tenant.tenant_id), await member(services, tenant.tenant_id)
    conversation_id = await new_conversation(services, tenant.tenant_id)
    await services.desk.reply(tenant.tenant_id, conversation_id, "Hello", actor=ada)
    await services.desk.assign(tenant.tenant_id, conversation_id, bo.id, actor=ada)
    resolved_at = clock.advance(minutes=10)

    resolved = await services.desk.resolve(tenant.tenant_id, conversation_id, actor=bo)
    assert (resolved.status, resolved.assignee) == (S.RESOLVED, bo.id)
    kept = await moments(services, tenant.tenant_id, conversation_id)
    assert (kept["human_account_id"], kept["resolved_at"]) == (ada.id, resolved_at)
    # Resolving again changes nothing.
    assert await services.desk.resolve(tenant.tenant_id, conversation_id, actor=bo) == resolved

    reopened = await services.desk.reopen(tenant.tenant_id, conversation_id, actor=bo)
    assert (reopened.status, reopened.assignee) == (S.ASSIGNED, bo.id)
    assert (await moments(services, tenant.tenant_id, conversation_id))["resolved_at"] is None
    with pytest.raises(Conflict):
        await services.desk.reopen(tenant.tenant_id, conversation_id, actor=bo)
    assert await actions(services, tenant.tenant_id, 2) == [
        ("conversation.resolved", bo.id),
        ("conversation.reopened", bo.id),
    ]


async def test_pending_and_snoozed_are_the_desks_own_and_the_customer_is_not_told(
    services: Services, clock: SetClock
) -> None:
    tenant = await services.tenants.create("Desk Bank", actor=ACTOR)
    ada = await member(services, tenant.tenant_id)
    conversation_id = await new_conversation(services, tenant.tenant_id)
    await services.desk.take(tenant.tenant_id, conversation_id, actor=ada)

    waiting = await services.desk.set_pending(tenant.tenant_id, conversation_id, actor=ada)
    assert (waiting.status, waiting.assignee) == (S.PENDING, ada.id)
    with pytest.raises(InvalidInput):
        await services.desk.snooze(tenant.tenant_id, conversation_id, clock.now, actor=ada)
    until = clock.now + timedelta(days=1)
    snoozed = await services.desk.snooze(tenant.tenant_id, conversation_id, until, actor=ada)
    assert (snoozed.status, snoozed.snoozed_until) == (S.SNOOZED, until)
    (listed,) = await services.desk.conversations(tenant.tenant_id, S.SNOOZED, limit=5)
    assert listed.conversation_id == conversation_id

    history = await services.chat.history(tenant.tenant_id, conversation_id, after_seq=0, limit=9)
    assert [m.body for m in history] == ["agent_joined"]
    assert await actions(services, tenant.tenant_id, 2) == [
        ("conversation.pending", ada.id),
        ("conversation.snoozed", ada.id),
    ]


async def test_a_step_on_a_conversation_that_does_not_exist_is_not_found(
    services: Services,
) -> None:
    tenant = await services.tenants.create("Desk Bank", actor=ACTOR)
    ada = await member(services, tenant.tenant_id)
    for step in (services.desk.take, services.desk.resolve, services.desk.set_pending):
        with pytest.raises(NotFound):
            await step(tenant.tenant_id, "no-such-conversation", actor=ada)
