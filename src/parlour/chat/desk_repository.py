"""SQL for the desk's people: an organisation's teams and their members, each member's presence
choice and capacity, and the organisation's auto-assignment settings and round-robin turn.
Every method takes `tenant_id` first and filters on it; the tables sit behind row-level security
on PostgreSQL (migration 0026)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.identity.models import Role
from parlour.storage.tables import desk_members, desk_settings, memberships, team_members, teams

DEFAULT_CAPACITY = 5


@dataclass(frozen=True, slots=True)
class Team:
    tenant_id: str
    team_id: str
    name: str
    created_at: datetime
    members: tuple[str, ...] = ()  # account ids, in the order they were added


@dataclass(frozen=True, slots=True)
class DeskSettings:
    """An organisation's auto-assignment: off by default, and how many assigned conversations
    it gives each agent unless the agent has a capacity of their own."""

    auto_assign: bool = False
    default_capacity: int = DEFAULT_CAPACITY


@dataclass(frozen=True, slots=True)
class DeskMember:
    """A member as the desk sees them: role, presence choice and own capacity (None: the
    organisation's)."""

    account_id: str
    role: Role
    presence: str | None
    capacity: int | None


class TeamRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def insert(self, team: Team) -> None:
        await self._conn.execute(
            insert(teams).values(
                tenant_id=team.tenant_id,
                team_id=team.team_id,
                name=team.name,
                created_at=team.created_at,
            )
        )

    async def rename(self, tenant_id: str, team_id: str, name: str) -> bool:
        result = await self._conn.execute(
            update(teams)
            .where(teams.c.tenant_id == tenant_id, teams.c.team_id == team_id)
            .values(name=name)
        )
        return bool(result.rowcount)

    async def delete(self, tenant_id: str, team_id: str) -> bool:
        result = await self._conn.execute(
            delete(teams).where(teams.c.tenant_id == tenant_id, teams.c.team_id == team_id)
        )
        return bool(result.rowcount)

    async def named(self, tenant_id: str, name: str) -> str | None:
        return await self._conn.scalar(
            select(teams.c.team_id).where(teams.c.tenant_id == tenant_id, teams.c.name == name)
        )

    async def all(self, tenant_id: str, team_id: str | None = None) -> list[Team]:
        """The organisation's teams (or the one), by name, each with its members."""
        where = [teams.c.tenant_id == tenant_id]
        if team_id is not None:
            where.append(teams.c.team_id == team_id)
        rows = (await self._conn.execute(select(teams).where(*where).order_by(teams.c.name))).all()
        members: dict[str, list[str]] = {row.team_id: [] for row in rows}
        if members:
            listed = await self._conn.execute(
                select(team_members.c.team_id, team_members.c.account_id)
                .where(team_members.c.tenant_id == tenant_id)
                .order_by(team_members.c.added_at, team_members.c.account_id)
            )
            for team, account in listed:
                if team in members:
                    members[team].append(account)
        return [
            Team(r.tenant_id, r.team_id, r.name, r.created_at, tuple(members[r.team_id]))
            for r in rows
        ]

    async def add_member(self, tenant_id: str, team_id: str, account_id: str, at: datetime) -> bool:
        """False when they were in it already."""
        statement = _upsert(self._conn).values(
            tenant_id=tenant_id, team_id=team_id, account_id=account_id, added_at=at
        )
        result = await self._conn.execute(statement.on_conflict_do_nothing())
        return bool(result.rowcount)

    async def remove_member(self, tenant_id: str, team_id: str, account_id: str) -> bool:
        result = await self._conn.execute(
            delete(team_members).where(
                team_members.c.tenant_id == tenant_id,
                team_members.c.team_id == team_id,
                team_members.c.account_id == account_id,
            )
        )
        return bool(result.rowcount)


class DeskRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def settings(self, tenant_id: str) -> DeskSettings:
        row = (
            await self._conn.execute(
                select(desk_settings).where(desk_settings.c.tenant_id == tenant_id)
            )
        ).first()
        return DeskSettings(row.auto_assign, row.default_capacity) if row else DeskSettings()

    async def save_settings(self, tenant_id: str, settings: DeskSettings) -> None:
        values = {
            "auto_assign": settings.auto_assign,
            "default_capacity": settings.default_capacity,
        }
        statement = _upsert(self._conn, desk_settings).values(tenant_id=tenant_id, **values)
        await self._conn.execute(
            statement.on_conflict_do_update(index_elements=["tenant_id"], set_=values)
        )

    async def next_turn(self, tenant_id: str) -> int:
        """The organisation's next round-robin turn: a number no other offer gets."""
        result = await self._conn.execute(
            update(desk_settings)
            .where(desk_settings.c.tenant_id == tenant_id)
            .values(turn=desk_settings.c.turn + 1)
            .returning(desk_settings.c.turn)
        )
        turn = result.scalar()
        return int(turn) if turn is not None else 0

    async def members(
        self, tenant_id: str, account_ids: Collection[str] | None = None
    ) -> list[DeskMember]:
        """The organisation's members (or those of `account_ids`), by account id, with their
        desk choices."""
        joined = memberships.outerjoin(
            desk_members,
            (desk_members.c.tenant_id == memberships.c.tenant_id)
            & (desk_members.c.account_id == memberships.c.account_id),
        )
        query = (
            select(
                memberships.c.account_id,
                memberships.c.role,
                desk_members.c.presence,
                desk_members.c.capacity,
            )
            .select_from(joined)
            .where(memberships.c.tenant_id == tenant_id)
            .order_by(memberships.c.account_id)
        )
        if account_ids is not None:
            query = query.where(memberships.c.account_id.in_(list(account_ids)))
        rows = await self._conn.execute(query)
        return [DeskMember(r.account_id, Role(r.role), r.presence, r.capacity) for r in rows]

    async def team_of(self, tenant_id: str, team_id: str) -> list[str]:
        rows = await self._conn.execute(
            select(team_members.c.account_id).where(
                team_members.c.tenant_id == tenant_id, team_members.c.team_id == team_id
            )
        )
        return [row.account_id for row in rows]

    async def choose(self, tenant_id: str, account_id: str, presence: str) -> None:
        await self._set(tenant_id, account_id, {"presence": presence})

    async def set_capacity(self, tenant_id: str, account_id: str, capacity: int | None) -> None:
        await self._set(tenant_id, account_id, {"capacity": capacity})

    async def _set(self, tenant_id: str, account_id: str, values: dict[str, Any]) -> None:
        row = {"presence": "available", "capacity": None, **values}
        statement = _upsert(self._conn, desk_members).values(
            tenant_id=tenant_id, account_id=account_id, **row
        )
        await self._conn.execute(
            statement.on_conflict_do_update(index_elements=["tenant_id", "account_id"], set_=values)
        )


def _upsert(conn: AsyncConnection, table: Any = team_members) -> Any:
    """INSERT … ON CONFLICT, in the connection's dialect."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)
