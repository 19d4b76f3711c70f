"""Members' presence on the embedded profile (one process) and on Redis (two nodes): sockets
counted across tabs and nodes, offline without one whatever the choice, the choice kept in the
database, and a dead node's sockets lapsing with their lease (on a clock the test moves)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from parlour.chat.presence import LocalSockets, Presence, PresenceState, RedisSockets
from parlour.errors import InvalidInput, NotFound
from parlour.identity.models import Role
from parlour.services import Services
from tests.chat.test_lifecycle import member
from tests.support.clock import SetClock
from tests.support.redis import reachable_prefix, redis_url
from tests.support.seed import ACTOR

P = PresenceState
LEASE = 60.0


@dataclass
class Nodes:
    a: Presence
    b: Presence
    clock: SetClock
    shared: bool  # two nodes over Redis, rather than one process


async def _redis_nodes(services: Services, clock: SetClock) -> AsyncIterator[Nodes]:
    async for prefix in reachable_prefix():
        clients = [Redis.from_url(redis_url()) for _ in range(2)]
        a, b = (
            Presence(
                services.db,
                RedisSockets(c, prefix=prefix, lease_seconds=LEASE, clock=clock),
                services.chat.broker,
            )
            for c in clients
        )
        try:
            yield Nodes(a, b, clock, shared=True)
        finally:
            for node in (a, b):
                await node.aclose()
            for client in clients:
                await client.aclose()


def _clock() -> SetClock:
    return SetClock(datetime(2026, 5, 4, 10, 0, tzinfo=UTC))


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def nodes(request: pytest.FixtureRequest, services: Services) -> AsyncIterator[Nodes]:
    clock = _clock()
    if request.param == "memory":
        node = Presence(services.db, LocalSockets(), services.chat.broker)
        yield Nodes(node, node, clock, shared=False)
        return
    async for shared in _redis_nodes(services, clock):
        yield shared


@pytest.fixture(params=[pytest.param("redis", marks=pytest.mark.redis)])
async def redis_nodes(services: Services) -> AsyncIterator[Nodes]:
    """Two nodes over Redis only: leases exist where sockets outlive a process (on the embedded
    profile one process holds every socket, and they die with it)."""
    async for shared in _redis_nodes(services, _clock()):
        yield shared


async def test_a_member_is_online_while_any_tab_on_any_node_is_open(
    nodes: Nodes, services: Services
) -> None:
    tenant = await services.tenants.create("Presence Bank", actor=ACTOR)
    ada = await member(services, tenant.tenant_id)
    t = tenant.tenant_id
    assert (await nodes.a.of(t))[ada.id] is P.OFFLINE

    await nodes.a.connected(t, ada.id)
    await nodes.a.connected(t, ada.id)  # a second tab
    await nodes.b.connected(t, ada.id)  # and one on the other node
    assert (await nodes.b.of(t))[ada.id] is P.AVAILABLE
    await nodes.a.disconnected(t, ada.id)
    await nodes.b.disconnected(t, ada.id)
    assert (await nodes.a.of(t))[ada.id] is P.AVAILABLE  # one tab is still open
    await nodes.a.disconnected(t, ada.id)
    for node in (nodes.a, nodes.b):
        assert (await node.of(t))[ada.id] is P.OFFLINE
        assert await node.available_agents(t) == 0


async def test_the_choice_is_kept_and_offline_wins_over_it(
    nodes: Nodes, services: Services
) -> None:
    tenant = await services.tenants.create("Presence Bank", actor=ACTOR)
    other = await services.tenants.create("Other Bank", actor=ACTOR)
    ada, bo = await member(services, tenant.tenant_id), await member(services, tenant.tenant_id)
    analyst = await member(services, tenant.tenant_id, Role.ANALYST)
    theirs = await member(services, other.tenant_id)
    t = tenant.tenant_id
    for who in (ada, bo, analyst):
        await nodes.a.connected(t, who.id)

    await nodes.b.choose(t, bo.id, "away")
    assert await nodes.b.of(t) == {ada.id: P.AVAILABLE, bo.id: P.AWAY, analyst.id: P.AVAILABLE}
    # Analysts are present, but do not take conversations.
    assert await nodes.a.available_agents(t) == 1
    await nodes.a.disconnected(t, bo.id)
    assert (await nodes.a.of(t))[bo.id] is P.OFFLINE
    await nodes.b.connected(t, bo.id)
    assert (await nodes.a.of(t))[bo.id] is P.AWAY  # the choice outlives the sockets
    await nodes.a.choose(t, bo.id, P.AVAILABLE)
    assert await nodes.b.available_agents(t) == 2

    with pytest.raises(InvalidInput):
        await nodes.a.choose(t, ada.id, "offline")
    with pytest.raises(NotFound):  # T-98: another organisation's member is none of ours
        await nodes.a.choose(t, theirs.id, "away")
    assert theirs.id not in await nodes.a.of(t)


async def test_a_dead_nodes_sockets_lapse_with_their_lease_and_a_live_nodes_are_renewed(
    redis_nodes: Nodes, services: Services
) -> None:
    nodes = redis_nodes
    tenant = await services.tenants.create("Presence Bank", actor=ACTOR)
    ada, bo = await member(services, tenant.tenant_id), await member(services, tenant.tenant_id)
    t = tenant.tenant_id
    await nodes.a.connected(t, ada.id)  # node a will die without a word
    await nodes.b.connected(t, bo.id)

    nodes.clock.advance(seconds=LEASE * 2 / 3)
    await nodes.b._sockets.renew()  # type: ignore[attr-defined]  # b's heartbeat; a is dead
    assert await nodes.b.available_agents(t) == 2
    nodes.clock.advance(seconds=LEASE / 3 + 1)
    assert await nodes.b.of(t) == {ada.id: P.OFFLINE, bo.id: P.AVAILABLE}
