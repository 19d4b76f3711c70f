"""Parlour as a client of an organisation's MCP server (TB-03), through the official MCP SDK.

Every request carries a fresh access token Parlour signs with the tenant's key: audience the
server's URL (RFC 8707), subject the verified end user the call is for, sixty seconds of life;
the server checks it against Parlour's published JWKS. The configured credential, if any, rides
beside it as `X-Api-Key`. Connections go through the egress guard, pinned to a public address
of the server's host; a server that is slow, down or refused costs its tools, never the turn.

A tool is known by the fingerprint of everything the model is shown of it (name, title,
description, input schema): `approve` pins those of the allowed tools, and the assistant offers
only tools whose fingerprint is the pinned one (T-81: a server cannot change what a tool says it
does after an administrator allowed it).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from parlour.audit.events import Actor
from parlour.egress import EgressGuard
from parlour.errors import ParlourError, Unavailable
from parlour.keys.call_tokens import CallTokens
from parlour.mcp_bridge.configuration import McpConfiguration
from parlour.mcp_bridge.models import McpServer
from parlour.mcp_bridge.tls import client_context

if TYPE_CHECKING:
    # The SDK takes about a second to import: it loads when a call is made, not with the
    # services (the CLI's start).
    from mcp import Client
    from mcp.types import Tool

T = TypeVar("T")
LIST_SCOPE = "tools:list"
CALL_SCOPE = "tools:call"
MAX_RESULT_CHARS = 16_000


@dataclass(frozen=True, slots=True)
class RemoteTool:
    """A tool as its server describes it."""

    name: str
    description: str
    input_schema: dict[str, Any]
    fingerprint: str


class McpBridge:
    def __init__(
        self,
        configuration: McpConfiguration,
        call_tokens: CallTokens,
        egress: EgressGuard,
        *,
        timeout_seconds: float,
        listing_ttl_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._configuration = configuration
        self._call_tokens = call_tokens
        self._egress = egress
        self._timeout = timeout_seconds
        self._ttl = listing_ttl_seconds
        self._clock = clock
        # (server id, its last change) -> (expiry, tools): a changed server is listed afresh.
        self._listings: dict[tuple[str, object], tuple[float, list[RemoteTool]]] = {}
        # (server id, its last change) -> its TLS settings.
        self._contexts: dict[tuple[str, object, str], ssl.SSLContext] = {}

    async def servers(self, tenant_id: str) -> list[McpServer]:
        return await self._configuration.servers(tenant_id)

    async def list_tools(self, server: McpServer) -> list[RemoteTool]:
        """The tools the server offers (all of them; the caller applies the allowlist)."""
        key = (server.server_id, server.updated_at)
        cached = self._listings.get(key)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        listed = await self._talk(server, "parlour", LIST_SCOPE, lambda c: c.list_tools())
        tools = [
            RemoteTool(
                t.name, t.description or t.title or t.name, dict(t.input_schema), fingerprint(t)
            )
            for t in listed.tools
        ]
        self._listings[key] = (self._clock() + self._ttl, tools)
        return tools

    async def approve(self, server: McpServer, *, actor: Actor) -> McpServer:
        """Pin the allowed tools' definitions as the server gives them now (T-81). Unavailable
        if the server cannot be reached: its tools then stay withheld."""
        listed = await self._talk(server, "parlour", LIST_SCOPE, lambda c: c.list_tools())
        definitions = {t.name: fingerprint(t) for t in listed.tools}
        return await self._configuration.pin(
            server.tenant_id, server.server_id, definitions, actor=actor
        )

    async def withheld(self, server: McpServer, tool: RemoteTool) -> None:
        """Record that `tool` was not offered: its definition is not the one approved."""
        await self._configuration.withheld(server, tool.name, tool.fingerprint)

    async def call_tool(
        self, server: McpServer, name: str, arguments: dict[str, Any], *, subject: str
    ) -> str:
        """Run one tool for the verified end user `subject`; its text, or Unavailable."""
        result = await self._talk(
            server, subject, CALL_SCOPE, lambda c: c.call_tool(name, arguments)
        )
        from mcp.types import TextContent

        text = "\n".join(c.text for c in result.content if isinstance(c, TextContent))
        if result.is_error:
            raise Unavailable(f"the tool reported an error: {text[:200]}")
        return text[:MAX_RESULT_CHARS]

    async def _talk(
        self,
        server: McpServer,
        subject: str,
        scope: str,
        work: Callable[[Client], Awaitable[T]],
    ) -> T:
        """Run `work` on a fresh session. A refusal of ours (the egress guard) is raised as
        itself; anything else that goes wrong with the server is Unavailable."""
        try:
            async with self._session(server, subject=subject, scope=scope) as client:
                return await work(client)
        except ParlourError:
            raise
        except Exception as failure:
            cause = _innermost(failure)
            if isinstance(cause, ParlourError):
                raise cause from failure
            raise Unavailable(f"the MCP server failed: {type(cause).__name__}") from failure

    @asynccontextmanager
    async def _session(
        self, server: McpServer, *, subject: str, scope: str
    ) -> AsyncIterator[Client]:
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client

        token = await self._call_tokens.mint(
            server.tenant_id, audience=server.url, subject=subject, scope=scope
        )
        headers = {"Authorization": f"Bearer {token}"}
        credential = await self._configuration.credential(server.tenant_id, server.server_id)
        if credential is not None:
            headers["X-Api-Key"] = credential
        tls = await self._tls(server) if urlsplit(server.url).scheme == "https" else None
        async with (
            self._egress.client(headers=headers, tls=tls) as http,
            asyncio.timeout(self._timeout),
        ):
            transport = streamable_http_client(server.url, http_client=http)
            async with Client(transport, cache=None, read_timeout_seconds=self._timeout) as client:
                yield client

    async def _tls(self, server: McpServer) -> ssl.SSLContext:
        """The server's TLS settings (T-78), made once per version of its configuration and of
        the organisation's client certificate (a switch, on any node, is seen at the next
        call)."""
        certificate_pem = await self._configuration.client_certificate_pem(server.tenant_id)
        key = (server.server_id, server.updated_at, certificate_pem)
        context = self._contexts.get(key)
        if context is None:
            identity = await self._configuration.client_certificate(server.tenant_id)
            context = client_context(identity, server.server_ca_pem)
            self._contexts = {k: v for k, v in self._contexts.items() if k[0] != key[0]}
            self._contexts[key] = context
        return context


def fingerprint(tool: Tool) -> str:
    """SHA-256 of what the model is shown of a tool, in a canonical JSON form."""
    shown = {
        "name": tool.name,
        "title": tool.title,
        "description": tool.description,
        "input_schema": tool.input_schema,
    }
    canonical = json.dumps(shown, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _innermost(failure: BaseException) -> BaseException:
    """The one error inside the task groups the SDK runs in, if there is just one."""
    while isinstance(failure, BaseExceptionGroup) and len(failure.exceptions) == 1:
        failure = failure.exceptions[0]
    return failure
