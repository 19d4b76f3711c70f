"""SQL for organisations' MCP servers; every method takes `tenant_id` first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.mcp_bridge.models import McpServer
from parlour.storage.tables import mcp_client_certificates, mcp_servers


class McpServerRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def of_tenant(self, tenant_id: str) -> list[McpServer]:
        rows = await self._conn.execute(
            select(mcp_servers)
            .where(mcp_servers.c.tenant_id == tenant_id)
            .order_by(mcp_servers.c.created_at)
        )
        return [_server(row) for row in rows]

    async def get(self, tenant_id: str, server_id: str) -> McpServer | None:
        row = (
            await self._conn.execute(
                select(mcp_servers).where(
                    mcp_servers.c.tenant_id == tenant_id, mcp_servers.c.server_id == server_id
                )
            )
        ).first()
        return _server(row) if row else None

    async def credential(self, tenant_id: str, server_id: str) -> bytes | None:
        return (
            await self._conn.execute(
                select(mcp_servers.c.credential_sealed).where(
                    mcp_servers.c.tenant_id == tenant_id, mcp_servers.c.server_id == server_id
                )
            )
        ).scalar()

    async def insert(self, server: McpServer, credential_sealed: bytes | None) -> None:
        await self._conn.execute(
            insert(mcp_servers).values(
                **_values(server),
                server_id=server.server_id,
                tenant_id=server.tenant_id,
                created_at=server.created_at,
                credential_sealed=credential_sealed,
            )
        )

    async def update(
        self, server: McpServer, credential_sealed: bytes | None, *, keep_credential: bool
    ) -> None:
        values = _values(server)
        if not keep_credential:
            values["credential_sealed"] = credential_sealed
        await self._conn.execute(
            update(mcp_servers)
            .where(
                mcp_servers.c.tenant_id == server.tenant_id,
                mcp_servers.c.server_id == server.server_id,
            )
            .values(**values)
        )

    async def delete(self, tenant_id: str, server_id: str) -> bool:
        result = await self._conn.execute(
            delete(mcp_servers).where(
                mcp_servers.c.tenant_id == tenant_id, mcp_servers.c.server_id == server_id
            )
        )
        return result.rowcount == 1


def _values(server: McpServer) -> dict[str, object]:
    return {
        "name": server.name,
        "url": server.url,
        "tools": list(server.tools),
        "high_impact_tools": list(server.high_impact_tools),
        "subject_argument": server.subject_argument,
        "updated_at": server.updated_at,
        "tool_pins": dict(server.tool_pins),
        "server_ca_pem": server.server_ca_pem,
    }


def _server(row: Row[tuple[object, ...]]) -> McpServer:
    m = row._mapping
    return McpServer(
        server_id=m["server_id"],
        tenant_id=m["tenant_id"],
        name=m["name"],
        url=m["url"],
        tools=tuple(m["tools"]),
        high_impact_tools=tuple(m["high_impact_tools"]),
        subject_argument=m["subject_argument"],
        has_credential=m["credential_sealed"] is not None,
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        tool_pins=dict(m["tool_pins"]),
        server_ca_pem=m["server_ca_pem"],
    )


class ClientCertificateRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, tenant_id: str) -> tuple[str, bytes] | None:
        """The certificate (PEM) and the sealed private key."""
        row = (
            await self._conn.execute(
                select(
                    mcp_client_certificates.c.certificate_pem,
                    mcp_client_certificates.c.private_key_sealed,
                ).where(mcp_client_certificates.c.tenant_id == tenant_id)
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def next(self, tenant_id: str) -> tuple[str, bytes] | None:
        """The prepared next certificate (PEM) and its sealed key, if there is one."""
        row = (
            await self._conn.execute(
                select(
                    mcp_client_certificates.c.next_certificate_pem,
                    mcp_client_certificates.c.next_private_key_sealed,
                ).where(mcp_client_certificates.c.tenant_id == tenant_id)
            )
        ).first()
        return (row[0], row[1]) if row and row[0] is not None else None

    async def set_next(self, tenant_id: str, certificate_pem: str, key_sealed: bytes) -> None:
        await self._conn.execute(
            update(mcp_client_certificates)
            .where(mcp_client_certificates.c.tenant_id == tenant_id)
            .values(next_certificate_pem=certificate_pem, next_private_key_sealed=key_sealed)
        )

    async def switch(
        self, tenant_id: str, certificate_pem: str, key_sealed: bytes, at: datetime
    ) -> None:
        """The given (the prepared one, its key sealed as the current) becomes current."""
        await self._conn.execute(
            update(mcp_client_certificates)
            .where(mcp_client_certificates.c.tenant_id == tenant_id)
            .values(
                certificate_pem=certificate_pem,
                private_key_sealed=key_sealed,
                created_at=at,
                next_certificate_pem=None,
                next_private_key_sealed=None,
            )
        )

    async def insert(
        self, tenant_id: str, certificate_pem: str, key_sealed: bytes, at: datetime
    ) -> None:
        await self._conn.execute(
            insert(mcp_client_certificates).values(
                tenant_id=tenant_id,
                certificate_pem=certificate_pem,
                private_key_sealed=key_sealed,
                created_at=at,
            )
        )
