"""The organisation's MCP servers as the assistant's tool source: of each server's tools, only
those the organisation allowlisted, and only as their definitions were approved (T-81), are
offered, marked high-impact as it said, with the argument that names the customer filled from
the verified token (tools.py decides every call). A tool withheld because its definition changed
is counted in the organisation's security figures, once per definition and node, as it is
reported."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from parlour.assistant.tools import Subject, Tool
from parlour.mcp_bridge.client import McpBridge, RemoteTool
from parlour.mcp_bridge.models import McpServer
from parlour.observability import security_event
from parlour.rollups.models import Figure
from parlour.rollups.tally import Tally

log = logging.getLogger(__name__)
MAX_DESCRIPTION_CHARS = 1_000


class McpTools:
    def __init__(self, bridge: McpBridge, tally: Tally) -> None:
        self._bridge = bridge
        self._tally = tally  # counts withheld tools: an organisation's security figure
        # (server, tool, definition) already reported as withheld: once each, not every turn.
        self._reported: set[tuple[str, str, str]] = set()

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
                if remote.name not in allowed or remote.name in offered:
                    continue
                if server.tool_pins.get(remote.name) != remote.fingerprint:
                    await self._withheld(server, remote)
                    continue
                offered[remote.name] = self._tool(server, remote)
        return list(offered.values())

    async def _withheld(self, server: McpServer, remote: RemoteTool) -> None:
        seen = (server.server_id, remote.name, remote.fingerprint)
        if seen in self._reported:
            return
        self._reported.add(seen)
        self._tally.add(server.tenant_id, Figure.WITHHELD_TOOLS)
        security_event(
            "mcp.tool_withheld",
            tenant_id=server.tenant_id,
            server_id=server.server_id,
            tool=remote.name,
            approved=server.tool_pins.get(remote.name),
            offered=remote.fingerprint,
        )
        try:
            await self._bridge.withheld(server, remote)
        except Exception:
            # The security event above has it; a turn does not fail for want of an audit row.
            log.exception("recording a withheld MCP tool failed")

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
