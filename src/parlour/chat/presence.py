"""Who of an organisation's members is there to take conversations: available, away or offline.

Offline is having no live socket (the members' live feed opens one per dashboard tab, on any
node), whatever the member chose; with one, a member is what they chose, available or away
(available until they choose). The choice is kept in the database (`desk_members`); the live
sockets are counted where nodes share them: in this process on the embedded profile, in Redis
when nodes are several (`RedisSockets`), where each node's count of an account's sockets is one
entry that lapses unless the node renews it, so a node that died takes its sockets with it.

The live feed calls `connected` and `disconnected` once per socket; a member's choice comes from
the dashboard or the API (`choose`). When a member becomes available (their first socket while
their choice is available, or choosing available while connected), listeners hear of it:
auto-assignment offers them the queue (chat/auto_assignment.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Protocol

from redis.asyncio import Redis

from parlour.chat.broker import Broker
from parlour.chat.desk_events import PresenceChanged
from parlour.chat.desk_repository import DeskMember, DeskRepository
from parlour.errors import InvalidInput, NotFound
from parlour.identity.membership_repository import MembershipRepository
from parlour.identity.policy import Permission, role_grants
from parlour.shared_redis import FAILURES, unavailable_on_failure
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow

log = logging.getLogger(__name__)

LEASE_SECONDS = 60.0


class PresenceState(StrEnum):
    AVAILABLE = "available"
    AWAY = "away"
    OFFLINE = "offline"


CHOICES = (PresenceState.AVAILABLE, PresenceState.AWAY)
Listener = Callable[[str, str], Awaitable[None]]


class LiveSockets(Protocol):
    """Counts of members' live sockets, shared by the nodes that hold them."""

    async def connected(self, tenant_id: str, account_id: str) -> bool:
        """Count one more; True when it is the account's first on this node."""
        ...

    async def disconnected(self, tenant_id: str, account_id: str) -> bool:
        """Count one less; True when it was the account's last on this node."""
        ...

    async def online(self, tenant_id: str) -> set[str]:
        """The accounts with at least one live socket on any node."""
        ...

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...


class LocalSockets:
    """The embedded profile: one process holds every socket."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()

    async def connected(self, tenant_id: str, account_id: str) -> bool:
        self._counts[(tenant_id, account_id)] += 1
        return self._counts[(tenant_id, account_id)] == 1

    async def disconnected(self, tenant_id: str, account_id: str) -> bool:
        key = (tenant_id, account_id)
        if self._counts[key] <= 1:
            self._counts.pop(key, None)
            return True
        self._counts[key] -= 1
        return False

    async def online(self, tenant_id: str) -> set[str]:
        return {account for (tenant, account), n in self._counts.items() if tenant == tenant_id}

    async def start(self) -> None:
        pass

    async def aclose(self) -> None:
        pass


class RedisSockets:
    """Nodes sharing Redis: per organisation, a sorted set of `account|node` entries scored by
    when they lapse. A node counts its own sockets in memory and keeps one entry per account
    with any, renewed every third of the lease (`renew`); an entry whose node stopped renewing
    lapses, and readers ignore it (and sweep it away)."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        lease_seconds: float = LEASE_SECONDS,
        clock: Clock = utcnow,
    ) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:presence:"
        self._lease = lease_seconds
        self._clock = clock
        self.node = secrets.token_hex(8)
        self._counts: Counter[tuple[str, str]] = Counter()
        self._renewer: asyncio.Task[None] | None = None

    def _now(self) -> float:
        return self._clock().timestamp()

    async def connected(self, tenant_id: str, account_id: str) -> bool:
        key = (tenant_id, account_id)
        self._counts[key] += 1
        if self._counts[key] > 1:
            return False
        try:
            with unavailable_on_failure("Presence"):
                await self._hold({key})
        except BaseException:
            await self.disconnected(tenant_id, account_id)
            raise
        return True

    async def disconnected(self, tenant_id: str, account_id: str) -> bool:
        key = (tenant_id, account_id)
        if self._counts[key] > 1:
            self._counts[key] -= 1
            return False
        self._counts.pop(key, None)
        try:
            await self._redis.zrem(self._prefix + tenant_id, f"{account_id}|{self.node}")
        except FAILURES:
            log.warning("could not withdraw a member's presence; it lapses with its lease")
        return True

    async def online(self, tenant_id: str) -> set[str]:
        key, now = self._prefix + tenant_id, self._now()
        with unavailable_on_failure("Presence"):
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zremrangebyscore(key, "-inf", now)
                pipe.zrangebyscore(key, now, "+inf")
                _, entries = await pipe.execute()
        return {entry.decode().rpartition("|")[0] for entry in entries}

    async def renew(self) -> None:
        """Push back the lapse of every entry this node holds (its heartbeat)."""
        await self._hold(set(self._counts))

    async def _hold(self, keys: set[tuple[str, str]]) -> None:
        if not keys:
            return
        until = self._now() + self._lease
        async with self._redis.pipeline(transaction=False) as pipe:
            for tenant_id, account_id in keys:
                pipe.zadd(self._prefix + tenant_id, {f"{account_id}|{self.node}": until})
                pipe.pexpire(self._prefix + tenant_id, int(self._lease * 2000))
            await pipe.execute()

    async def start(self) -> None:
        if self._renewer is None:
            self._renewer = asyncio.create_task(self._renew_forever())

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            try:
                await self.renew()
            except FAILURES:
                log.warning("could not renew members' presence; retrying")

    async def aclose(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None
        held = list(self._counts)
        self._counts.clear()
        with contextlib.suppress(*FAILURES):
            for tenant_id, account_id in held:
                await self._redis.zrem(self._prefix + tenant_id, f"{account_id}|{self.node}")


class Presence:
    """Members' presence: counted from their live desk sockets (`connected`, `disconnected`,
    which the desk's admission calls for each socket), and their own choice; every change told
    to the organisation's members on its desk channel."""

    def __init__(self, db: Database, sockets: LiveSockets, broker: Broker) -> None:
        self._db = db
        self._sockets = sockets
        self._broker = broker
        self._listeners: list[Listener] = []

    def on_available(self, listener: Listener) -> None:
        """Call `listener(tenant_id, account_id)` whenever a member becomes available."""
        self._listeners.append(listener)

    async def connected(self, tenant_id: str, account_id: str) -> None:
        """A live desk socket of the member opened on this node."""
        if await self._sockets.connected(tenant_id, account_id):
            state = await self._told(tenant_id, account_id)
            if state is PresenceState.AVAILABLE:
                await self._became_available(tenant_id, account_id)

    async def disconnected(self, tenant_id: str, account_id: str) -> None:
        """One of the member's live desk sockets on this node closed."""
        if await self._sockets.disconnected(tenant_id, account_id):
            await self._told(tenant_id, account_id)

    async def _told(self, tenant_id: str, account_id: str) -> PresenceState:
        """The member's presence now, told to the organisation's members."""
        state = await self.state(tenant_id, account_id)
        await self._broker.publish_desk(tenant_id, PresenceChanged(account_id, state.value))
        return state

    async def choose(self, tenant_id: str, account_id: str, choice: PresenceState | str) -> None:
        """The member's own choice, available or away, kept until they change it."""
        if choice not in CHOICES:
            raise InvalidInput("choose available or away")
        async with self._db.transaction(tenant_id) as conn:
            if await MembershipRepository(conn).get(account_id, tenant_id) is None:
                raise NotFound("no such member")
            await DeskRepository(conn).choose(tenant_id, account_id, PresenceState(choice).value)
        if await self._told(tenant_id, account_id) is PresenceState.AVAILABLE:
            await self._became_available(tenant_id, account_id)

    async def of(self, tenant_id: str) -> dict[str, PresenceState]:
        """Every member of the organisation, by account id, with their presence."""
        online = await self._sockets.online(tenant_id)
        return {
            m.account_id: _choice(m) if m.account_id in online else PresenceState.OFFLINE
            for m in await self._members(tenant_id)
        }

    async def state(self, tenant_id: str, account_id: str) -> PresenceState:
        return (await self.of(tenant_id)).get(account_id, PresenceState.OFFLINE)

    async def available(self, tenant_id: str) -> list[DeskMember]:
        """The members who are available and whose role handles conversations."""
        online = await self._sockets.online(tenant_id)
        if not online:
            return []
        return [
            m
            for m in await self._members(tenant_id, sorted(online))
            if _choice(m) is PresenceState.AVAILABLE
            and role_grants(m.role, Permission.HANDLE_CONVERSATIONS)
        ]

    async def available_agents(self, tenant_id: str) -> int:
        """How many people could take a conversation now (the widget's "nobody available")."""
        return len(await self.available(tenant_id))

    async def start(self) -> None:
        await self._sockets.start()

    async def aclose(self) -> None:
        await self._sockets.aclose()

    async def _members(
        self, tenant_id: str, account_ids: list[str] | None = None
    ) -> list[DeskMember]:
        async with self._db.read(tenant_id) as conn:
            return await DeskRepository(conn).members(tenant_id, account_ids)

    async def _became_available(self, tenant_id: str, account_id: str) -> None:
        for listener in self._listeners:
            await listener(tenant_id, account_id)


def _choice(member: DeskMember) -> PresenceState:
    return PresenceState(member.presence) if member.presence else PresenceState.AVAILABLE
