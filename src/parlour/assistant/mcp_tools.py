"""The organisation's MCP servers as the assistant's tool source: of each server's tools, only
those the organisation allowlisted are offered, marked high-impact as it said, with the argument
that names the customer filled from the verified token (tools.py decides every call)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from parlour.assistant.tools import Subject, Tool
from parlour.mcp_bridge.client import McpBridge, RemoteTool
from parlour.mcp_bridge.models import McpServer

log = logging.getLogger(__name__)
MAX_DESCRIPTION_CHARS = 1_000


class McpTools:
    def __init__(self, bridge: McpBridge) -> None:
        self._bridge = bridge

    async def tools(self, tenant_id: str) -> Sequence[Tool]:
        offered: dict[str, Tool] = {}
        for server in await self._bridge.servers(tenant_id):
            allowed = set(server.tools)
            if not allowed:
                continue
            try:
                listed = await self._bridge.list_tools(server)
            except Exception as failure:
                # A server that is down, slow or refused costs its tools, not the turn.
                log.warning(
                    "MCP server unavailable: %s",
                    type(failure).__name__,
                    extra={"tenant_id": tenant_id, "server_id": server.server_id},
                )
                continue
            for remote in listed:
                if remote.name in allowed and remote.name not in offered:
                    offered[remote.name] = self._tool(server, remote)
        return list(offered.values())

    def _tool(self, server: McpServer, remote: RemoteTool) -> Tool:
        async def run(subject: Subject, arguments: dict[str, Any]) -> str:
            return await self._bridge.call_tool(
                server, remote.name, arguments, subject=subject.user_id
            )

        properties = remote.input_schema.get("properties", {})
        subject_argument = server.subject_argument
        return Tool(
            name=remote.name,
            description=remote.description[:MAX_DESCRIPTION_CHARS],
            input_schema=remote.input_schema,
            run=run,
            subject_argument=subject_argument if subject_argument in properties else None,
            high_impact=remote.name in server.high_impact_tools,
        )
