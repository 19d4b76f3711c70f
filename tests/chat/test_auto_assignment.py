"""Auto-assignment: off until an admin switches it on; then a queued conversation goes,
round-robin, to an available agent (of its team, when it has one) below their capacity; it stays
queued when nobody has room, and is offered again when someone becomes available or frees room.
Race-free: two nodes assigning at once never exceed a capacity nor assign a conversation twice.
On both backends."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from parlour.audit.events import Actor
from parlour.chat.desk_repository import DeskRepository, DeskSettings
from parlour.chat.models import ConversationStatus
from parlour.errors import InvalidInput
from parlour.identity.models import Role
from parlour.services import Services, build_services
from tests.chat.test_desk import actions
from tests.chat.test_lifecycle import assert_told_in_order, member, new_conversation
from tests.support.seed import ACTOR

S = ConversationStatus


async def queued(services: Services, tenant_id: str) -> str:
    conversation_id = await new_conversation(services, tenant_id)
    await services.chat.request_handoff(tenant_id, conversation_id)
    return conversation_id


async def assignee(services: Services, tenant_id: str, conversation_id: str) -> str | None:
    conversation = await services.chat.get_conversation(tenant_id, conversation_id)
    return conversation.assignee if conversation.status is S.ASSIGNED else None


async def agents(services: Services, tenant_id: str, count: int) -> list[Actor]:
    """Agents with a live socket each, available."""
    made = [await member(services, tenant_id) for _ in range(count)]
    for agent in made:
        await services.presence.connected(tenant_id, agent.id)
    return sorted(made, key=lambda a: a.id)


async def test_nothing_is_assigned_until_an_admin_switches_it_on(backend: Services) -> None:
    tenant = await backend.tenants.create("Auto Bank", actor=ACTOR)
    t = tenant.tenant_id
    admin = await member(backend, t, Role.ADMIN)
    (ada,) = await agents(backend, t, 1)
    waiting = await queued(backend, t)
    assert await assignee(backend, t, waiting) is None
    assert not (await backend.auto_assignment.settings(t)).auto_assign

    await backend.auto_assignment.configure(t, enabled=True, default_capacity=3, actor=admin)
    assert await assignee(backend, t, waiting) == ada.id  # the queue was offered at once
    await assert_told_in_order(backend, t, waiting)
    assert await actions(backend, t, 2) == [
        ("desk.auto_assignment_set", admin.id),
        ("conversation.auto_assigned", "auto-assignment"),
    ]
    with pytest.raises(InvalidInput):
        await backend.auto_assignment.configure(t, enabled=True, default_capacity=-1, actor=admin)


async def test_conversations_go_round_robin_to_available_agents_below_their_capacity(
    backend: Services,
) -> None:
    tenant = await backend.tenants.create("Auto Bank", actor=ACTOR)
    t = tenant.tenant_id
    admin = await member(backend, t, Role.ADMIN)
    await backend.presence.connected(t, admin.id)
    await backend.presence.choose(t, admin.id, "away")  # away: takes nothing
    await member(backend, t)  # offline: takes nothing
    analyst = await member(backend, t, Role.ANALYST)
    await backend.presence.connected(t, analyst.id)  # present, but handles no conversation
    ada, bo = await agents(backend, t, 2)
    await backend.auto_assignment.configure(t, enabled=True, default_capacity=2, actor=admin)
    await backend.auto_assignment.set_capacity(t, bo.id, 1, actor=admin)

    given = [await assignee(backend, t, await queued(backend, t)) for _ in range(4)]
    assert Counter(given) == {ada.id: 2, bo.id: 1, None: 1}
    assert given[:2] in ([ada.id, bo.id], [bo.id, ada.id])  # each in turn while both have room
    (left,) = await backend.desk.conversations(t, S.QUEUED, limit=9)

    # Bo resolves one: room again, and the queue is offered.
    bos = next(
        c for c in await backend.desk.conversations(t, S.ASSIGNED, limit=9) if c.assignee == bo.id
    )
    await backend.desk.resolve(t, bos.conversation_id, actor=bo)
    assert await assignee(backend, t, left.conversation_id) == bo.id


async def test_the_queue_is_offered_again_when_an_agent_becomes_available(
    backend: Services,
) -> None:
    tenant = await backend.tenants.create("Auto Bank", actor=ACTOR)
    t = tenant.tenant_id
    admin = await member(backend, t, Role.ADMIN)
    ada, bo = await member(backend, t), await member(backend, t)
    await backend.auto_assignment.configure(t, enabled=True, default_capacity=5, actor=admin)
    first, second = await queued(backend, t), await queued(backend, t)
    assert await backend.desk.conversations(t, S.QUEUED, limit=9) != []

    await backend.presence.choose(t, ada.id, "away")
    await backend.presence.connected(t, ada.id)  # connected, but away
    assert await assignee(backend, t, first) is None
    await backend.presence.choose(t, ada.id, "available")
    assert await assignee(backend, t, first) == ada.id
    assert await assignee(backend, t, second) == ada.id
    # Unassigned, a conversation is queued again and offered: to whoever's turn it is.
    await backend.presence.connected(t, bo.id)
    await backend.desk.unassign(t, first, actor=ada)
    assert await assignee(backend, t, first) in (ada.id, bo.id)


async def test_a_conversation_of_a_team_goes_to_that_teams_available_agents_only(
    backend: Services,
) -> None:
    tenant = await backend.tenants.create("Auto Bank", actor=ACTOR)
    t = tenant.tenant_id
    admin = await member(backend, t, Role.ADMIN)
    ada, bo = await agents(backend, t, 2)
    team = await backend.teams.create(t, "Billing", actor=admin)
    await backend.teams.add_member(t, team.team_id, bo.id, actor=admin)
    conversation_id = await queued(backend, t)
    await backend.teams.place(t, conversation_id, team.team_id, actor=admin)
    await backend.auto_assignment.configure(t, enabled=True, default_capacity=5, actor=admin)
    assert await assignee(backend, t, conversation_id) == bo.id

    await backend.presence.disconnected(t, bo.id)
    await backend.desk.unassign(t, conversation_id, actor=bo)
    assert await assignee(backend, t, conversation_id) is None  # Ada is not in the team
    await backend.teams.place(t, conversation_id, None, actor=admin)  # any team's now: offered
    assert await assignee(backend, t, conversation_id) == ada.id


@contextlib.asynccontextmanager
async def two_nodes(backend: Services, tmp_path: Path) -> AsyncIterator[Services]:
    """A second node on the same database and master key."""
    settings = backend.settings.model_copy(update={"data_dir": tmp_path / "node-b"})
    other = build_services(settings)
    try:
        yield other
    finally:
        await other.aclose()


async def test_two_nodes_assigning_at_once_never_exceed_a_capacity_nor_assign_twice(
    backend: Services, tmp_path: Path
) -> None:
    """Two nodes offer the queue while customers ask for people on both: every agent ends at
    most at their capacity, every conversation has at most one person, and each assignment is
    told to the customer once, in order."""
    tenant = await backend.tenants.create("Race Bank", actor=ACTOR)
    t = tenant.tenant_id
    admin = await member(backend, t, Role.ADMIN)
    team = await agents(backend, t, 3)
    async with two_nodes(backend, tmp_path) as node_b:
        for agent in team:
            await node_b.presence.connected(t, agent.id)
        conversations = [await new_conversation(backend, t) for _ in range(12)]
        await backend.auto_assignment.configure(t, enabled=True, default_capacity=2, actor=admin)
        nodes = (backend, node_b)
        await asyncio.gather(
            *(nodes[i % 2].chat.request_handoff(t, c) for i, c in enumerate(conversations)),
            *(node.auto_assignment.offer_queue(t) for node in nodes for _ in range(3)),
        )
    given = [await assignee(backend, t, c) for c in conversations]
    per_agent = Counter(a for a in given if a is not None)
    assert per_agent == {agent.id: 2 for agent in team}
    assert given.count(None) == 6
    for conversation_id in conversations:
        await assert_told_in_order(backend, t, conversation_id)
    recent = await backend.audit.recent(t, limit=100)
    auto = [e for e in recent if e["action"] == "conversation.auto_assigned"]
    assert len(auto) == 6


async def test_two_nodes_offering_one_agent_many_conversations_at_once_give_them_one(
    backend: Services, tmp_path: Path
) -> None:
    """The tightest race: one available agent, a queue of many, room for one more at a time
    (made without offering the queue), and both nodes offering it many times at once. The
    agent never has more than their capacity."""
    tenant = await backend.tenants.create("Race Bank", actor=ACTOR)
    t = tenant.tenant_id
    admin = await member(backend, t, Role.ADMIN)
    conversations = [await queued(backend, t) for _ in range(8)]
    async with two_nodes(backend, tmp_path) as node_b:
        await backend.auto_assignment.configure(t, enabled=True, default_capacity=1, actor=admin)
        (ada,) = await agents(backend, t, 1)  # becoming available offers the queue on node a
        await node_b.presence.connected(t, ada.id)
        for capacity in (1, 2, 3, 4):
            given = [await assignee(backend, t, c) for c in conversations]
            assert given.count(ada.id) == capacity
            async with backend.db.transaction(t) as conn:
                await DeskRepository(conn).save_settings(t, DeskSettings(True, capacity + 1))
            # Each offer a different conversation, so no row lock of theirs orders them.
            nodes = (backend, node_b)
            await asyncio.gather(
                *(nodes[i % 2].auto_assignment.offer(t, c) for i, c in enumerate(conversations)),
                *(node.auto_assignment.offer_queue(t) for node in nodes * 3),
            )
    for conversation_id in conversations:
        await assert_told_in_order(backend, t, conversation_id)
    given = [await assignee(backend, t, c) for c in conversations]
    assert given.count(ada.id) == 5
